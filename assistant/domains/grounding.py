"""Titles in the user's words, grounded against every catalog: "I loved Gone Girl" -> the book.

The first catalog's titles are read by the assistant's own extractor; each other catalog gets an
extractor of its own (rules only: the same mention scan and stance reading, no LLM call), and its
entries are tagged with its domain. A title found in several catalogs ("Dune": a novel and a film)
is kept in each, unless the words just before it name one ("the novel Dune", "watched Dune"): then
only that one.

Authors are grounded the same way, in every other catalog whose items name them
(`extraction.authors`): "films for someone who loves Agatha Christie" -> the author Agatha Christie of
the books, with the shared aspects most of her books carry. A title inside an author's name ("Ray" in
"Ray Bradbury") is the name, not the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from recassist.assistant.domains.detect import CUES
from recassist.assistant.extraction.authors import AuthorIndex, author_aspects
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.assistant.extraction.polarity import mention_polarity
from recassist.foundation.catalog import Catalog
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.profile import AuthorPreference, InterestProfile, ItemPreference, Source, Theme

_WORD = re.compile(r"[a-z']+")
# Past-tense verbs that say which kind of thing a title is ("watched Dune"), beyond the request cues.
_DONE = {"movies": (r"watched", r"saw", r"seen"), "books": (r"read", r"finished reading")}
# How far back a cue may stand before a title: "the film Dune", "read the novel Dune".
_CUE_WINDOW = 3


@dataclass
class GroundedTitles:
    """What one text names, per catalog."""

    others: InterestProfile = field(default_factory=InterestProfile)  # entries of the other catalogs (domain set)
    drop_first: set[str] = field(default_factory=set)  # first-catalog ids the words say are another domain's
    domains: set[str] = field(default_factory=set)  # domains with at least one title or author kept


def with_grounded(delta: InterestProfile, grounded: GroundedTitles) -> InterestProfile:
    """The first catalog's reading `delta`, less titles the words gave to another catalog (or an author's name),
    plus the other catalogs' titles and authors `grounded` found in the same words."""
    drop = grounded.drop_first
    kept = delta.model_copy(update={
        "liked_items": [p for p in delta.liked_items if p.item_id not in drop],
        "disliked_items": [p for p in delta.disliked_items if p.item_id not in drop],
        "themes": without_author_themes(delta.themes, grounded.others)})
    others = grounded.others
    if not (others.liked_items or others.disliked_items or others.liked_authors or others.disliked_authors):
        return kept
    merged = kept.model_copy(update={"liked_items": [*kept.liked_items, *others.liked_items],
                                     "disliked_items": [*kept.disliked_items, *others.disliked_items],
                                     "liked_authors": [*kept.liked_authors, *others.liked_authors],
                                     "disliked_authors": [*kept.disliked_authors, *others.disliked_authors]})
    if merged.status == "empty":
        merged.status = "ok"
    return merged


def without_author_themes(themes: list[Theme], others: InterestProfile) -> list[Theme]:
    """`themes` less those holding an author's name ("something like Stephen King" is the author, not a wish)."""
    spans = [(a.source.start, a.source.end) for a in (*others.liked_authors, *others.disliked_authors)]
    return [t for t in themes if not any(t.source.start < e and s < t.source.end for s, e in spans)]


def cue_before(text: str, start: int, domains: list[str]) -> str | None:
    """The domain a cue word right before offset `start` names ("the novel |Dune"), or None."""
    words = _WORD.findall(text[:start].lower())[-_CUE_WINDOW:]
    for word in reversed(words):
        for domain in domains:
            if any(re.fullmatch(c, word) for c in (*CUES.get(domain, ()), *_DONE.get(domain, ()))):
                return domain
    return None


class TitleGrounding:
    """Grounds titles against the first catalog's reading (given) and every other catalog."""

    def __init__(self, first: str, others: dict[str, Catalog]) -> None:
        self.first = first
        self._extractors = {d: InterestExtractor(c, None) for d, c in others.items()}
        self._catalogs = dict(others)
        self._authors = {d: index for d, c in others.items() if len(index := AuthorIndex(c))}

    def ground(self, text: str, first_delta: InterestProfile, *, turn: int = 0) -> GroundedTitles:
        """Titles of `text` in every catalog. `first_delta`: the first catalog's reading of the same text."""
        domains = [self.first, *self._extractors]
        out = GroundedTitles()
        names = self._ground_authors(text, out, turn)
        found: list[tuple[str, ItemPreference, bool]] = []  # (domain, entry, liked)
        for p in first_delta.liked_items:
            found.append((self.first, p, True))
        for p in first_delta.disliked_items:
            found.append((self.first, p, False))
        for domain, extractor in self._extractors.items():
            delta, _ = extractor.extract(text, turn=turn, use_llm=False)
            found += [(domain, p.model_copy(update={"domain": domain}), True) for p in delta.liked_items]
            found += [(domain, p.model_copy(update={"domain": domain}), False) for p in delta.disliked_items]
        for domain, entry, liked in found:
            if any(s <= entry.source.start and entry.source.end <= e for s, e in names):
                if domain == self.first:  # "Ray" of "Ray Bradbury": part of a name
                    out.drop_first.add(entry.item_id)
                continue
            cued = cue_before(text, entry.source.start, domains)
            # A cue overrules only where the same words matched in the cued catalog too.
            if cued and cued != domain and any(d == cued and _same_words(e, entry) for d, e, _ in found):
                if domain == self.first:
                    out.drop_first.add(entry.item_id)
                continue
            out.domains.add(domain)
            if domain != self.first:
                (out.others.liked_items if liked else out.others.disliked_items).append(entry)
        return out

    def _ground_authors(self, text: str, out: GroundedTitles, turn: int) -> list[tuple[int, int]]:
        """Adds the authors `text` names to `out.others`; returns the spans of their names."""
        mentions = [(d, m) for d, index in self._authors.items() for m in index.find(text)]
        spans = [(m.start, m.end) for _, m in mentions]
        kept: dict[tuple[str, str], tuple[AuthorPreference, bool]] = {}
        for domain, m in mentions:  # the same author twice: the later statement wins, as for titles
            stance = mention_polarity(text, m.start, m.end, spans).polarity
            entry = AuthorPreference(name=m.name, domain=domain, aspects=author_aspects(self._catalogs[domain],
                                                                                         m.item_ids),
                                     source=Source(text=text[m.start:m.end], start=m.start, end=m.end, turn=turn),
                                     origin="inferred" if stance == "neutral" else "explicit")
            kept[(domain, m.name)] = (entry, stance == "disliked")
            out.domains.add(domain)
        for entry, disliked in kept.values():
            (out.others.disliked_authors if disliked else out.others.liked_authors).append(entry)
        return spans


def _same_words(a: ItemPreference, b: ItemPreference) -> bool:
    return normalize_title(a.source.text) == normalize_title(b.source.text) or (
        a.source.start < b.source.end and b.source.start < a.source.end)
