"""Resolving "the second one", "that one", "it" or a title to an item shown earlier in the session."""

from __future__ import annotations

import re

from recassist.assistant.extraction.mentions import TitleMatcher

_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
    "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "eighth": 7, "ninth": 8, "tenth": 9, "last": -1,
}
_ORDINAL = re.compile(r"\b(?:the\s+)?(" + "|".join(_ORDINALS) + r")(?:\s+(?:one|movie|film|suggestion))?\b", re.I)
_NUMBER = re.compile(r"(?:#|\bnumber\s+|\bno\.?\s*)(\d{1,2})\b", re.I)
_DEICTIC = re.compile(r"\b(?:that one|this one|that movie|this movie|that film|this film|it|that|this)\b", re.I)


def resolve_reference(text: str, shown: list[str], matcher: TitleMatcher, *, last_discussed: str | None = None
                      ) -> str | None:
    """The item id `text` points at among `shown` (display order), or None.

    A title wins over a position ("why Moon?"), a position over a pronoun;
    "it" / "that one" means the item last discussed, else the first shown.
    """
    if not shown:
        return None
    for m in matcher.find_mentions(text):
        if m.item_id in shown:
            return m.item_id
    m = _ORDINAL.search(text)
    if m:
        idx = _ORDINALS[m.group(1).lower()]
        return shown[idx] if -len(shown) <= idx < len(shown) else None
    m = _NUMBER.search(text)
    if m:
        idx = int(m.group(1)) - 1
        return shown[idx] if 0 <= idx < len(shown) else None
    if _DEICTIC.search(text):
        return last_discussed if last_discussed in shown else shown[0]
    return None
