"""Helpers of the surface tests: the names they use and a live server.

The data dir they serve is a copy of the session's small prepared one (tests/conftest.py): a slice of the
shipped MovieLens (`catalog_slices.write_small_catalog`), the most-rated movies plus the films of `NAMED`, with
the ratings of a subset of users, so index build and training take seconds, not minutes.
"""

from __future__ import annotations

from catalog_slices import SMALL_NAMED as NAMED
from loopback import running

__all__ = ["NAMED", "XSS_ITEM", "XSS_TITLE", "running"]

# A title that is markup: it must show as these characters everywhere (cards, chat, profile panel).
XSS_TITLE = "<img src=x onerror=alert(1)>"
# The shipped catalog ends in 2018, so "from 2020 or later" leaves exactly the upserted item.
XSS_ITEM = {
    "title": XSS_TITLE,
    "year": 2024,
    "genres": ["Sci-Fi", "Drama"],
    "tags": ["aliens"],
    "description": "A thoughtful science fiction drama about first contact.",
}

