"""Aspects (genres, tags) read from the text and mapped onto catalog vocabulary, with their stance."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recassist.assistant.extraction.negation import (
    ANYTHING_BUT,
    ASPECT_EXCLUDED_BEFORE,
    ASPECT_NEGATED_BEFORE,
    ASPECT_REJECTED_AFTER,
)
from recassist.assistant.extraction.polarity import clause_bounds
from recassist.assistant.extraction.vocabulary import Term, Vocabulary

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


@dataclass(frozen=True)
class AspectMention:
    term: Term
    surface: str
    start: int
    end: int
    polarity: str  # "liked" | "disliked"
    hard_exclusion: bool
    near_title: bool  # said about a named title ("X was funny"): inferred, not an explicit wish


def find_aspects(text: str, vocab: Vocabulary, title_spans: list[tuple[int, int]]) -> list[AspectMention]:
    """Vocabulary phrases in `text` (outside title spans), longest first, each with its stance."""
    words = [m for m in _WORD.finditer(text) if not any(s <= m.start() < e for s, e in title_spans)]
    longest = vocab.max_phrase_len()
    found: list[AspectMention] = []
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(longest, len(words) - i), 0, -1):
            span_words = words[i : i + n]
            # Words must be adjacent in the text (a masked title between them breaks the phrase).
            if any(span_words[k + 1].start() - span_words[k].end() > 2 for k in range(n - 1)):
                continue
            term = vocab.lookup(" ".join(w.group() for w in span_words))
            if term:
                hit = (term, span_words[0].start(), span_words[-1].end(), n)
                break
        if hit is None:
            i += 1
            continue
        term, start, end, n = hit
        left, right = clause_bounds(text, start, end)
        before = text[left:start]
        # "anything but horror": the clause split at "but" hides the negation, so look before the clause.
        anything_but = bool(ANYTHING_BUT.search(text[:start]))
        negative = bool(anything_but or ASPECT_NEGATED_BEFORE.search(before)
                        or ASPECT_REJECTED_AFTER.search(text[end:]))
        hard = negative and term.kind == "genre" and bool(anything_but or ASPECT_EXCLUDED_BEFORE.search(before))
        near_title = any(left <= s < right for s, _ in title_spans)
        found.append(AspectMention(term, text[start:end], start, end, "disliked" if negative else "liked", hard,
                                   near_title))
        i += n
    return found
