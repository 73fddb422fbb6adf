"""Which catalog a request is for, read from its words: "a book like The Martian" -> books.

Cue words name a domain ("book", "novel", "to read" / "film", "movie", "watch"). A cue right after a
word that points back at what the user already did ("after watching Arrival", "loved the film", "hated the
book") names the source of a taste, liked or not, not the wish, and is skipped. One domain among the
remaining cues: that domain; none, or several: None (the caller answers from every catalog, or the
default one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Domain name -> cue words (lower case; regex word stems).
CUES: dict[str, tuple[str, ...]] = {
    "books": (r"books?", r"novels?", r"read", r"reading", r"reads", r"paperbacks?", r"audiobooks?", r"authors?",
              r"novelists?", r"memoirs?", r"series of books"),
    "movies": (r"films?", r"movies?", r"watch", r"watching", r"cinema", r"flicks?", r"screen"),
}
_BACKWARD = {"after", "since", "loved", "liked", "enjoyed", "finished", "from", "like", "of", "love", "adore",
             "watched", "read", "hated", "hate", "disliked", "dislike", "despised", "loathed", "detested"}
_WORD = re.compile(r"[a-z']+")


def detect_domain(text: str, domains: Sequence[str]) -> str | None:
    """The one configured domain the text asks for, or None when it names none of them or several."""
    words = _WORD.findall(text.lower())
    wanted: set[str] = set()
    for i, word in enumerate(words):
        for domain in domains:
            if any(re.fullmatch(c, word) for c in CUES.get(domain, ())):
                before = words[max(0, i - 2):i]
                # "after watching", "loved the film": the taste's source. "a book like" keeps "book".
                if before and (before[-1] in _BACKWARD or (len(before) == 2 and before[0] in _BACKWARD
                                                            and before[1] in ("the", "a", "that", "this"))):
                    continue
                wanted.add(domain)
    return next(iter(wanted)) if len(wanted) == 1 else None
