"""Titles in the user's words, grounded against every catalog: "I loved Gone Girl" -> the book.

The first catalog's titles are read by the assistant's own extractor; each other catalog gets an
extractor of its own (rules only: the same mention scan and stance reading, no LLM call), and its
entries are tagged with its domain. A title found in several catalogs ("Dune": a novel and a film)
is kept in each, unless the words just before it name one ("the novel Dune", "watched Dune"): then
only that one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from recassist.assistant.domains.detect import CUES
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.foundation.catalog import Catalog
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.profile import InterestProfile, ItemPreference

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
    domains: set[str] = field(default_factory=set)  # domains with at least one title kept


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

    def ground(self, text: str, first_delta: InterestProfile, *, turn: int = 0) -> GroundedTitles:
        """Titles of `text` in every catalog. `first_delta`: the first catalog's reading of the same text."""
        domains = [self.first, *self._extractors]
        out = GroundedTitles()
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


def _same_words(a: ItemPreference, b: ItemPreference) -> bool:
    return normalize_title(a.source.text) == normalize_title(b.source.text) or (
        a.source.start < b.source.end and b.source.start < a.source.end)
