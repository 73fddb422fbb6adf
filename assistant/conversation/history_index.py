"""Users' interaction histories from the catalog's log, indexed by user on first use."""

from __future__ import annotations

import threading

from recassist.foundation.catalog.models import Catalog


class HistoryIndex:
    """`history_of(user_id)` over `catalog.interactions`.

    The index is built on the first call (a pass over the whole log: most requests never need
    it, and the catalog may hold a million interactions), once, under a lock.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._by_user: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    def history_of(self, user_id: str | None) -> list[str]:
        """Item ids the log holds for this user, oldest first; [] for no user or an unknown one."""
        if not user_id:
            return []
        return list(self._index().get(user_id, ()))

    def _index(self) -> dict[str, list[str]]:
        if self._by_user is None:
            with self._lock:
                if self._by_user is None:
                    hist: dict[str, list] = {}
                    for x in self.catalog.interactions:
                        hist.setdefault(x.user_id, []).append(x)
                    for xs in hist.values():
                        xs.sort(key=lambda x: x.timestamp)  # stable: ties keep the log's order
                    self._by_user = {u: [x.item_id for x in xs] for u, xs in hist.items()}
        return self._by_user
