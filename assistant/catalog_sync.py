"""`CatalogFollower`: keeps one worker's catalog in step with updates other workers made (Redis).

A `PUT /v1/items` on one worker appends to the shared log and publishes its version
(`foundation.catalog.updates_redis`). Every worker runs one follower thread: on a message it
reads the entries after the last version it applied and swaps the updated catalog into its
`Assistant` (the vectors are already in the shared Chroma server, so nothing is re-indexed).
The same swap rebuilds everything derived from the catalog (candidate arrays, title matcher,
onboarding pool): this is the workers' cache invalidation. A periodic read of the log
(`poll_s`) covers messages missed while the connection to Redis was down.

Every configured catalog is followed: the first one in the `Assistant`, the others (books) in the
`Catalogs` that serves them, each from its own log and channel. An extra catalog not loaded yet
is skipped: its first load replays the whole log.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from recassist.foundation.catalog.updates_redis import CHANNEL, channel, client, entries_since, log_version, replay

log = logging.getLogger(__name__)


class CatalogFollower:
    """Follows the catalog-updates logs at `redis_url` for `assistant` (anything with `follow_catalog`) and,
    given `catalogs` (`assistant.domains.catalogs.Catalogs`), for every other catalog it serves.

    `start_version`: the log version the assistant's catalog already includes (read it before
    opening the assistant, so nothing appended in between is missed; re-applying is a no-op).
    """

    def __init__(self, assistant: Any, redis_url: str, *, start_version: int | None = None,
                 poll_s: float = 5.0, catalogs: Any = None) -> None:
        self.assistant = assistant
        self.catalogs = catalogs
        self.url = redis_url
        self.version = log_version(redis_url) if start_version is None else start_version
        self.poll_s = poll_s
        self.applied = 0  # updates that changed this worker's catalogs (for tests and logs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> CatalogFollower:
        self._thread = threading.Thread(target=self._run, name="catalog-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sync(self) -> int:
        """Apply each log's entries after the version its catalog includes; returns how many changed a catalog."""
        with self._lock:
            changed = self._sync_first() + sum(self._sync_other(d) for d in self._extra_domains())
            self.applied += changed
            return changed

    def _sync_first(self) -> int:
        since = max(self.version, getattr(self.assistant, "catalog_version", 0))
        entries = entries_since(self.url, since)
        if not entries:
            return 0
        fold = _Fold(entries)
        self.assistant.follow_catalog(fold, entries[-1][0])
        self.version = entries[-1][0]
        return fold.changed

    def _sync_other(self, domain: str) -> int:
        since = self.catalogs.log_version(domain)
        if since is None:
            return 0  # not loaded in this worker: its first load replays the log
        entries = entries_since(self.url, since, domain)
        if not entries:
            return 0
        fold = _Fold(entries)
        self.catalogs.follow_catalog(domain, fold, entries[-1][0])
        return fold.changed

    def _extra_domains(self) -> list[str]:
        return self.catalogs.extra_domains() if self.catalogs is not None else []

    def _run(self) -> None:
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = client(self.url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL, *(channel(d) for d in self._extra_domains()))
                self.sync()  # whatever was appended before the subscription took effect
                last_poll = time.monotonic()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=min(1.0, self.poll_s))
                    if message is not None or time.monotonic() - last_poll >= self.poll_s:
                        self.sync()
                        last_poll = time.monotonic()
            except Exception as e:  # noqa: BLE001 - the follower must outlive a Redis restart
                log.warning("catalog follower: %s; retrying in 1 s", e)
                self._stop.wait(1.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: BLE001 - closing a broken connection
                        pass


class _Fold:
    """`catalog -> catalog` with `entries` replayed; counts the entries that changed it."""

    def __init__(self, entries: list[tuple[int, dict]]) -> None:
        self.entries = entries
        self.changed = 0

    def __call__(self, catalog):
        catalog, self.changed = replay(catalog, self.entries)
        return catalog
