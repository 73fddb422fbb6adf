"""A small prepared data dir (catalog subset, item index, briefly trained ranker) and a live server.

The catalog is a slice of the shipped MovieLens: the most-rated movies plus a few the tests name,
with the ratings of a subset of users, so index build and training take seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path

from catalog_slices import prepare_small, share_embedding_graphs, write_movielens_slice
from loopback import running

__all__ = ["NAMED", "XSS_ITEM", "XSS_TITLE", "prepare_small", "running", "share_embedding_graphs",
           "write_small_catalog"]

NAMED = ("Arrival (2016)", "Interstellar (2014)", "Moon (2009)", "Gravity (2013)")
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


def write_small_catalog(dst: Path, *, n_popular: int = 100, max_user: int = 200) -> Path:
    """MovieLens-format slice of the demo catalog in `dst`; returns `dst`."""
    return write_movielens_slice(dst, n_popular=n_popular, max_user=max_user, named=NAMED)
