"""Template sentences for items of another catalog: cross-domain evidence is said to be cross-domain."""

from __future__ import annotations

from recassist.assistant.conversation.models import Evidence

#: What one item of a domain is called in a sentence.
NOUNS = {"movies": "film", "books": "book"}


def noun(domain: str | None) -> str:
    return NOUNS.get(domain or "", "item")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def cross_domain_sentence(domain: str, evidence: Evidence) -> str:
    """'You liked the film Arrival; this book shares its science fiction themes.' Built from the evidence only."""
    if evidence.cross_domain:
        link = evidence.cross_domain[0]
        themes = _join(link.shared_aspects[:3])
        return f"You liked the {noun(link.domain)} {link.title}; this {noun(domain)} shares its {themes} themes."
    if evidence.matched_aspects:
        return f"A {_join(evidence.matched_aspects[:3])} {noun(domain)}, as you asked."
    if "text" in evidence.sources and not evidence.ranker:
        return "Its tags and description come close to the words you used."
    if evidence.ranker:
        return f"Readers of the {noun(domain)}s you liked here rated it too." if domain == "books" else (
            f"People who liked the {noun(domain)}s you liked here liked it too.")
    return f"One of the most rated {noun(domain)}s in this catalog."
