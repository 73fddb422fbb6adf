"""Template sentences for items of another catalog: cross-domain evidence is said to be cross-domain."""

from __future__ import annotations

from recassist.assistant.conversation.models import AuthorLink, CrossDomainLink, Evidence

#: What one item of a domain is called in a sentence.
NOUNS = {"movies": "film", "books": "book"}


def noun(domain: str | None) -> str:
    return NOUNS.get(domain or "", "item")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def author_clause(author: AuthorLink, domain: str | None) -> str:
    """'You named Agatha Christie, whose books are mystery, classics, crime and thriller; this film is mystery
    and crime too': what the author's items carry (at most 4, `extraction.authors.MAX_ASPECTS`) and what of it
    this item (of `domain`) carries, from the evidence."""
    return (f"You named {author.name}, whose {noun(author.domain)}s are {_join(author.aspects)}; this "
            f"{noun(domain)} is {_join(author.shared_aspects)} too")


def liked_clause(link: CrossDomainLink, domain: str | None) -> str:
    """'You liked the book The Hunger Games; this film shares its science fiction and adventure themes'."""
    return (f"You liked the {noun(link.domain)} {link.title}; this {noun(domain)} shares its "
            f"{_join(link.shared_aspects[:3])} themes")


def cross_domain_sentence(domain: str, evidence: Evidence) -> str:
    """'You liked the film Arrival; this book shares its science fiction themes.' Built from the evidence only."""
    mine = next((a for a in evidence.authors if a.by_author), None)
    if mine is not None:
        return f"A {noun(domain)} by {mine.name}, whom you named."
    named = next((a for a in evidence.authors if a.shared_aspects), None)
    if named is not None:
        return author_clause(named, domain) + "."
    if evidence.cross_domain:
        return liked_clause(evidence.cross_domain[0], domain) + "."
    if evidence.matched_aspects:
        return f"A {_join(evidence.matched_aspects[:3])} {noun(domain)}, as you asked."
    if "text" in evidence.sources and not evidence.ranker:
        return "Its tags and description come close to the words you used."
    if evidence.ranker:
        return f"Readers of the {noun(domain)}s you liked here rated it too." if domain == "books" else (
            f"People who liked the {noun(domain)}s you liked here liked it too.")
    return f"One of the most rated {noun(domain)}s in this catalog."
