"""Helpers shared by the store tests and the worker processes they start (importable by name)."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.profile import InterestProfile, ItemPreference, Source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_catalog(n_synthetic: int = 0) -> Catalog:
    items = [
        Item(item_id="2571", title="The Matrix", year=1999, genres=("Action", "Sci-Fi"), tags=("cyberpunk",)),
        Item(item_id="1", title="Toy Story", year=1995, genres=("Animation", "Comedy")),
        Item(item_id="1258", title="The Shining", year=1980, genres=("Horror",), tags=("stephen king",)),
        Item(item_id="318", title="The Shawshank Redemption", year=1994, genres=("Drama",)),
    ]
    items += [Item(item_id=f"s{i}", title=f"Synthetic {i}", genres=("Drama",)) for i in range(n_synthetic)]
    return Catalog("test", {it.item_id: it for it in items})


class StepClock:
    """T0, T0 + 1 s, T0 + 2 s, ...: every call one second later, so timestamps are known answers."""

    def __init__(self) -> None:
        self._n = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return T0 + timedelta(seconds=next(self._n))


def liking(*item_ids: str, catalog: Catalog | None = None, turn: int = 1) -> InterestProfile:
    """A profile that likes `item_ids` (explicitly, as if said in `turn`)."""
    cat = catalog or make_catalog()
    return InterestProfile(
        liked_items=[
            ItemPreference(item_id=i, title=cat.get(i).label, source=Source(text=cat.get(i).title, turn=turn))
            for i in item_ids
        ]
    )


def crash_inside_feedback_write(path: str) -> None:
    """Worker process: die hard (no rollback, no close) after the revision rows are written, before COMMIT."""
    import os

    from recassist.assistant.store import SQLiteStores

    def die(*_args: object, **_kwargs: object) -> None:
        os._exit(3)

    SQLiteStores._insert_feedback = die  # type: ignore[method-assign]
    SQLiteStores(path, make_catalog()).record_feedback("alice", "1", "like")


def like_many(path: str, worker: int, n: int, start=None) -> None:
    """Worker (thread or process): `n` likes for its own user and `n` for the shared user, interleaved.

    Worker w likes items s{w*n} .. s{w*n + n - 1}, so every like is distinct and traceable to its writer.
    """
    from recassist.assistant.store import SQLiteStores

    store = SQLiteStores(path, make_catalog(n_synthetic=n * 8), busy_timeout_s=30)
    if start is not None:
        start.wait()
    _like_interleaved(store, worker, n)


def like_many_postgres(url: str, worker: int, n: int) -> None:
    """`like_many` against a PostgreSQL database (worker process)."""
    from recassist.assistant.store.postgres import PostgresStores

    _like_interleaved(PostgresStores(url, make_catalog(n_synthetic=n * 8), max_connections=4), worker, n)


def _like_interleaved(store, worker: int, n: int) -> None:
    """The likes of `like_many` on an open store, which is closed afterwards."""
    try:
        for i in range(n):
            item = f"s{worker * n + i}"
            store.record_feedback(f"user{worker}", item, "like")
            store.record_feedback("shared", item, "like")
    finally:
        store.close()


def die_inside_postgres_feedback_write(url: str) -> None:
    """Worker process: die hard (no rollback, no close) after the revision rows are written, before COMMIT."""
    import os

    from recassist.assistant.store.postgres import PostgresStores

    def die(*_args: object, **_kwargs: object) -> None:
        os._exit(3)

    PostgresStores._insert_feedback = die  # type: ignore[method-assign]
    PostgresStores(url, make_catalog()).record_feedback("alice", "1", "like")
