"""Is a mention liked, disliked or just mentioned? Read from the words around it.

The embedded LLM judges this at chance (DESIGN.md), so polarity comes from
the text: the clause holding the title, negation / hedging cues and VADER's
sentiment lexicon (shipped inside `vaderSentiment`). Titles themselves are
masked before scoring so "Bad Boys" or "Happy Feet" carry no sentiment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from recassist.assistant.extraction.negation import NEGATIVE_STANCE_CUES, TITLE_NEGATED_BEFORE
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Polarity = Literal["liked", "disliked", "neutral"]

# Clause boundaries: sentiment does not cross them. Sentence ends and contrast words
# ("but", "though") always split; a comma splits too, but a comma segment that is only
# a list continuation ("..., Y and Z") inherits the stance of the segment before it.
_SENTENCE_SPLIT = re.compile(r"[.!?;\n]+")
_CLAUSE_SPLIT = re.compile(
    r"(?:[.!?;\n]+|,|\s\bbut\b|\s\bhowever\b|\s\bwhereas\b|\s\balthough\b|\s\bthough\b|\s\bwhile\b)",
    re.IGNORECASE,
)
_LIST_FILLER = re.compile(r"^[\s,&/]*(?:(?:and|or|also|too|as well|plus|nor)\b[\s,&/]*)*$", re.IGNORECASE)

# Interest without having seen it counts as a (weaker) like.
_POSITIVE_CUES = re.compile(
    r"\b(?:lov(?:e|ed|ing)|like[ds]?|enjoy(?:ed|s)?|favou?rite|great|awesome|amazing|classic|fantastic|"
    r"want to (?:see|watch)|would like to (?:see|watch)|excited|sounds (?:good|great|interesting)|will (?:watch|check))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PolarityVote:
    polarity: Polarity
    score: float  # -1 (disliked) .. +1 (liked)
    clause: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Character range of the clause containing text[start:end]."""
    left = 0
    for m in _CLAUSE_SPLIT.finditer(text, 0, start):
        left = m.end()
    m = _CLAUSE_SPLIT.search(text, end)
    right = m.start() if m else len(text)
    return left, right


def _stance_bounds(text: str, masked: str, start: int, end: int) -> tuple[int, int]:
    """The clause that carries the stance towards text[start:end].

    A clause holding nothing but the (masked) title and list words
    ("..., Y and Z") has no stance of its own: widen it leftwards over the
    previous clauses of the same sentence until one says something.
    """
    left, right = clause_bounds(text, start, end)
    sentence_left = 0
    for m in _SENTENCE_SPLIT.finditer(text, 0, start):
        sentence_left = m.end()
    while left > sentence_left and _LIST_FILLER.match(masked[left:right].replace(masked[start:end], " ")):
        prev_left, _ = clause_bounds(text, max(sentence_left, left - 2), max(sentence_left, left - 2))
        if _CLAUSE_SPLIT.match(text, left - 1) is None and prev_left >= left:
            break
        left = max(sentence_left, prev_left)
        if _LIST_FILLER.match(masked[left:start]) is None:
            break
    return left, right


def mention_polarity(text: str, start: int, end: int, masked_spans: list[tuple[int, int]]) -> PolarityVote:
    """Judge the stance towards the title at text[start:end].

    `masked_spans` are all title spans in the text: they are blanked so other
    titles' words neither add sentiment nor count as cues.
    """
    chars = list(text)
    for s, e in masked_spans:
        for i in range(s, e):
            chars[i] = " "
    left, right = _stance_bounds(text, "".join(chars), start, end)
    before = "".join(chars[left:start])
    clause = "".join(chars[left:right])
    # "but not Minions", "except The Godfather": negation directly before the title.
    if TITLE_NEGATED_BEFORE.search(before):
        return PolarityVote("disliked", -0.9, text[left:right], left, right)
    negative = NEGATIVE_STANCE_CUES.search(clause)
    if negative:
        return PolarityVote("disliked", -0.8, text[left:right], left, right)
    compound = _vader().polarity_scores(clause)["compound"]
    if compound <= -0.45:
        return PolarityVote("disliked", max(-1.0, compound), text[left:right], left, right)
    if _POSITIVE_CUES.search(clause) or compound >= 0.3:
        return PolarityVote("liked", max(0.6, compound), text[left:right], left, right)
    return PolarityVote("neutral", compound, text[left:right], left, right)
