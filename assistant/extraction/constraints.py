"""Hard constraints stated in words: release years and runtime."""

from __future__ import annotations

import re
from dataclasses import dataclass

_Y = r"((?:18|19|20)\d{2})"
_DECADE = r"(?:the\s+)?(?:(?:19|20)?(\d)0'?s|'(\d)0s)"

# (pattern, what it sets). Order matters: "nothing before 1990" must win over "before 1990".
_YEAR_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bbetween\s+{_Y}\s+and\s+{_Y}", re.I), "between"),
    (re.compile(rf"\b{_Y}\s*(?:-|–|to)\s*{_Y}\b", re.I), "between"),
    (re.compile(rf"\b(?:nothing|no(?:thing)?\s+(?:movies?|films?)|not(?:hing)?\s+(?:made|released))\s+(?:made\s+|released\s+)?(?:before|earlier than|prior to|older than)\s+{_Y}", re.I), "min_incl"),
    (re.compile(rf"\b(?:nothing|no(?:thing)?\s+(?:movies?|films?)|not(?:hing)?\s+(?:made|released))\s+(?:made\s+|released\s+)?(?:after|later than|newer than|since)\s+{_Y}", re.I), "max_incl"),
    (re.compile(rf"\b(?:after|later than|newer than|post-?)\s*{_Y}", re.I), "min_excl"),
    (re.compile(rf"\b(?:since|from)\s+{_Y}\s*(?:on|onwards?)?", re.I), "min_incl"),
    (re.compile(rf"\b(?:before|earlier than|older than|prior to|pre-?)\s*{_Y}", re.I), "max_excl"),
    (re.compile(rf"\b(?:before|earlier than|older than|prior to|pre-?)\s*{_DECADE}", re.I), "before_decade"),
    (re.compile(rf"\b(?:after|later than|newer than|post-?)\s*{_DECADE}", re.I), "after_decade"),
    (re.compile(rf"\b(?:from|in|of)\s+{_DECADE}", re.I), "decade"),
    (re.compile(rf"\b{_DECADE}\s+(?:movies?|films?|flicks?|classics?|comed(?:y|ies)|action|horror)", re.I), "decade"),
]

_RUNTIME_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:under|less than|shorter than|no (?:more|longer) than|at most|max(?:imum)?)\s+(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|minutes?|mins?|m)\b", re.I), "limit"),
    (re.compile(r"\bnot (?:too|very|overly) long\b|\bshort(?:ish)?\s+(?:one|movie|film)\b|\bnothing (?:too )?long\b", re.I), "not_long"),
]
NOT_TOO_LONG_MINUTES = 120


@dataclass(frozen=True)
class YearSpan:
    min_year: int | None
    max_year: int | None
    start: int
    end: int


@dataclass(frozen=True)
class RuntimeLimit:
    minutes: int
    start: int
    end: int


def _decade(m: re.Match[str], first_group: int) -> int:
    digit = m.group(first_group) or m.group(first_group + 1)
    d = int(digit)
    full = m.group(0)
    century = 2000 if re.search(r"20\d0", full) or (d <= 2 and "19" not in full) else 1900
    return century + d * 10


def find_year_constraint(text: str) -> YearSpan | None:
    """The first stated year limit in `text`, as an inclusive [min, max] range."""
    for pattern, kind in _YEAR_RULES:
        m = pattern.search(text)
        if not m:
            continue
        if kind == "between":
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            return YearSpan(a, b, m.start(), m.end())
        if kind in ("min_incl", "min_excl", "max_incl", "max_excl"):
            y = int(m.group(1))
            lo = y + 1 if kind == "min_excl" else y if kind == "min_incl" else None
            hi = y - 1 if kind == "max_excl" else y if kind == "max_incl" else None
            return YearSpan(lo, hi, m.start(), m.end())
        start = _decade(m, 1)
        if kind == "before_decade":
            return YearSpan(None, start - 1, m.start(), m.end())
        if kind == "after_decade":
            return YearSpan(start + 10, None, m.start(), m.end())
        return YearSpan(start, start + 9, m.start(), m.end())
    return None


def find_runtime_limit(text: str) -> RuntimeLimit | None:
    for pattern, kind in _RUNTIME_RULES:
        m = pattern.search(text)
        if not m:
            continue
        if kind == "not_long":
            return RuntimeLimit(NOT_TOO_LONG_MINUTES, m.start(), m.end())
        value, unit = float(m.group(1)), m.group(2).lower()
        minutes = value * 60 if unit.startswith("h") else value
        return RuntimeLimit(int(round(minutes)), m.start(), m.end())
    return None
