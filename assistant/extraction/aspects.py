"""Aspects (genres, tags) read from the text and mapped onto catalog vocabulary, with their stance."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recassist.assistant.extraction.polarity import clause_bounds
from recassist.assistant.extraction.vocabulary import Term, Vocabulary

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
# Negation before the aspect within its clause: "no horror", "nothing too scary", "not a fan of westerns".
_NEG_BEFORE = re.compile(
    r"\b(?:no|not|nothing|none|without|avoid|never|less|hate[ds]?|dislike[ds]?|skip|exclude|except|"
    r"don'?t (?:like|want|enjoy|love|care for)|do not (?:like|want|enjoy|love)|not (?:a fan of|into|in the mood for)|"
    r"tired of|sick of|can'?t stand|too much)\b[^.;!?]*$",
    re.IGNORECASE,
)
# The words that make it a hard exclusion rather than a dislike: "no horror", "nothing scary", "without gore".
_HARD_BEFORE = re.compile(r"\b(?:no|nothing|without|avoid|exclude|except|skip|not)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
# "anything but horror", "everything except westerns or musicals": the clause split at "but" hides the
# negation from the clause, so the words before the clause are checked for it.
_ANYTHING_BUT = re.compile(
    r"\b(?:anything|everything|whatever|all)\s+(?:but|except|other than|apart from)\s+(?:\w+\s+){0,3}$",
    re.IGNORECASE,
)
_NEG_AFTER = re.compile(
    r"^[^.;!?,]{0,25}\b(?:not my thing|not for me|bores? me|bored me|is boring|are boring|"
    r"(?:is|are) (?:too much|not my cup of tea)|please no|no thanks)\b",
    re.IGNORECASE,
)


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
        anything_but = bool(_ANYTHING_BUT.search(text[:start]))
        negative = bool(anything_but or _NEG_BEFORE.search(before) or _NEG_AFTER.search(text[end:]))
        hard = negative and term.kind == "genre" and bool(anything_but or _HARD_BEFORE.search(before))
        near_title = any(left <= s < right for s, _ in title_spans)
        found.append(AspectMention(term, text[start:end], start, end, "disliked" if negative else "liked", hard,
                                   near_title))
        i += n
    return found
