"""Two API servers on Redis + PostgreSQL + a Chroma server: a book changed through one is served by the other.

The servers (`pair`, see conftest.py) serve a 40-book goodbooks slice beside the films, so loading the books
catalog (its EASE, its text index in the Chroma server) takes seconds.
"""

from __future__ import annotations

import time

import httpx
import pytest
from scale_helpers import KEYS

pytestmark = pytest.mark.slow

NEW_BOOK = {"title": "The Lighthouse Keeper's Ledger", "year": 2031, "genres": ["mystery"],
            "tags": ["mystery", "lighthouse"], "description": "A book by Ada Quill."}


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEYS[2]}"}, timeout=120)


def _knows(client: httpx.Client, item_id: str) -> bool:
    """Whether the server has `item_id` in its books catalog (feedback on an unknown id is a 404)."""
    got = client.post("/v1/feedback", json={"user_id": "book-follower", "item_id": item_id, "kind": "seen",
                                            "domain": "books"})
    assert got.status_code in (200, 404), got.text
    return got.status_code == 200


def _within(seconds: float, check) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def test_a_book_added_and_removed_through_one_server_is_followed_by_the_other(pair):
    a, b = pair
    with _client(a.url) as ca, _client(b.url) as cb:
        for c in (ca, cb):  # both load the books catalog first: B must follow the change, not replay it on load
            assert c.post("/v1/recommendations", json={"text": "a mystery book", "domain": "books", "k": 3,
                                                       "explain": False}).status_code == 200
        assert not _knows(cb, "bk-new-1")
        assert ca.put("/v1/items/bk-new-1", params={"domain": "books"}, json=NEW_BOOK).status_code == 200
        assert _within(2.0, lambda: _knows(cb, "bk-new-1")) is not None
        # B ranks it from its own copy of the catalog, with the vectors A wrote to the shared text index.
        found = cb.post("/v1/recommendations", json={"text": "lighthouse keeper ledger", "k": 1, "domain": "books",
                                                     "explain": False}).json()["items"]
        assert [it["item_id"] for it in found] == ["bk-new-1"] and "text" in found[0]["evidence"]["sources"]
        assert ca.delete("/v1/items/bk-new-1", params={"domain": "books"}).status_code == 204
        assert _within(2.0, lambda: not _knows(cb, "bk-new-1")) is not None
        # A book changed through B is followed by A the same way: every worker writes and follows.
        assert cb.put("/v1/items/bk-new-2", params={"domain": "books"}, json=NEW_BOOK).status_code == 200
        assert _within(2.0, lambda: _knows(ca, "bk-new-2")) is not None
        assert not (a.log.parent / "data" / "catalog_updates-books.jsonl").exists()  # the log is in Redis
