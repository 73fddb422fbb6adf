"""Critiques of shown items ("less violent", "older", "not that one", "I've seen it", "more like the second one")
turned into profile entries, each with the words it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from recassist.assistant.conversation.references import resolve_reference
from recassist.assistant.extraction.mentions import TitleMatcher
from recassist.assistant.extraction.vocabulary import Vocabulary
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.profile import AspectPreference, InterestProfile, ItemPreference, Source, YearRange

_LESS = re.compile(r"\b(?:less|fewer|not so|not as|too|without the|no more)\s+([a-z][a-z -]{1,30}?)(?=[,.;!?]|$|\s+(?:and|but|please|pls)\b)", re.I)
_MORE = re.compile(r"\b(?:more|extra|even more)\s+(?!like\b|recent\b|of\b)([a-z][a-z -]{1,30}?)(?=[,.;!?]|$|\s+(?:and|but|please|pls)\b)", re.I)
# Comparatives that stand for an aspect: ("funnier" -> more of the phrase "funny").
_COMPARATIVES = {
    "funnier": ("funny", True), "scarier": ("scary", True), "darker": ("dark", True), "lighter": ("feel good", True),
    "happier": ("feel good", True), "sadder": ("emotional", True), "weirder": ("surreal", True),
    "gentler": ("violent", False), "calmer": ("violent", False), "tamer": ("violent", False),
}
_OLDER = re.compile(r"\b(?:older|earlier|classic(?:s)?|not so (?:new|recent))\b", re.I)
_NEWER = re.compile(r"\b(?:newer|more recent|recent|later|modern)\b", re.I)
_NOT_THAT = re.compile(r"\bnot (?:that|this|the \w+) one\b|\bnot (?:that|this) (?:movie|film)\b|\bno,? not\b|"
                       r"\bdon'?t (?:like|want) (?:that|this|it|the \w+ one)\b", re.I)
_SEEN = re.compile(r"\b(?:seen|watched) (?:it|that|this|them|those|the \w+ one|that one|this one)\b|"
                   r"\balready (?:seen|watched)\b", re.I)
_MORE_LIKE = re.compile(r"\b(?:more|something|others?|ones?|movies?)\s+like\s+", re.I)
_SOMETHING_ELSE = re.compile(r"\bsomething else\b|\bothers?\b|\bdifferent\b|\bnew ones\b", re.I)


@dataclass
class CritiqueResult:
    delta: InterestProfile = field(default_factory=InterestProfile)
    changes: list[str] = field(default_factory=list)
    exclude_now: list[str] = field(default_factory=list)  # not persistent: "something else" this turn


def _source(text: str, m: re.Match[str], turn: int) -> Source:
    return Source(text=m.group(0).strip(), start=m.start(), end=m.end(), turn=turn)


def apply_critique(text: str, shown: list[str], catalog: Catalog, matcher: TitleMatcher, vocab: Vocabulary, *,
                   turn: int, last_discussed: str | None = None) -> CritiqueResult:
    res = CritiqueResult()
    d = res.delta
    for pattern, liked in ((_LESS, False), (_MORE, True)):
        for m in pattern.finditer(text):
            term = _term_for(m.group(1), vocab)
            if term is None:
                continue
            pref = AspectPreference(aspect=term.value, kind=term.kind,  # type: ignore[arg-type]
                                    source=_source(text, m, turn))
            (d.liked_aspects if liked else d.disliked_aspects).append(pref)
            res.changes.append(f"{'more' if liked else 'less'} {term.value}")
    for word, (phrase, liked) in _COMPARATIVES.items():
        m = re.search(rf"\b{word}\b", text, re.I)
        term = vocab.lookup(phrase) if m else None
        if m and term:
            pref = AspectPreference(aspect=term.value, kind=term.kind, source=_source(text, m, turn))  # type: ignore[arg-type]
            (d.liked_aspects if liked else d.disliked_aspects).append(pref)
            res.changes.append(f"{'more' if liked else 'less'} {term.value}")
    years = [catalog.items[i].year for i in shown if i in catalog.items and catalog.items[i].year]
    if years and not re.search(r"\b(?:18|19|20)\d{2}\b|\d0'?s\b", text):
        m_old, m_new = _OLDER.search(text), _NEWER.search(text)
        if m_old:
            d.constraints.years = YearRange(max_year=min(years) - 1, source=_source(text, m_old, turn))
            res.changes.append(f"released before {min(years)}")
        elif m_new:
            d.constraints.years = YearRange(min_year=max(years) + 1, source=_source(text, m_new, turn))
            res.changes.append(f"released after {max(years)}")
    target = resolve_reference(text, shown, matcher, last_discussed=last_discussed)
    m = _NOT_THAT.search(text)
    if m and target:
        d.constraints.excluded_items.append(_item_pref(catalog, target, text, m, turn))
        res.changes.append(f"excluded {catalog.items[target].label}")
    m = _SEEN.search(text)
    if m and target:
        d.constraints.seen_items.append(_item_pref(catalog, target, text, m, turn))
        res.changes.append(f"seen {catalog.items[target].label}")
    m = _MORE_LIKE.search(text)
    if m and target and not _NOT_THAT.search(text):
        d.liked_items.append(_item_pref(catalog, target, text, m, turn))
        res.changes.append(f"more like {catalog.items[target].label}")
    if _SOMETHING_ELSE.search(text) and not res.changes:
        res.exclude_now = list(shown)
        res.changes.append("different suggestions this time")
    d.status = "empty" if d.is_empty() else "ok"
    return res


def _term_for(words: str, vocab: Vocabulary):
    words = words.strip().lower()
    for candidate in (words, words.split()[0] if words.split() else words, words.rstrip("s")):
        term = vocab.lookup(candidate)
        if term:
            return term
    return None


def _item_pref(catalog: Catalog, item_id: str, text: str, m: re.Match[str], turn: int) -> ItemPreference:
    return ItemPreference(item_id=item_id, title=catalog.items[item_id].label, source=_source(text, m, turn))
