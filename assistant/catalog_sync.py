"""`CatalogFollower`: keeps one worker's catalog in step with updates other workers made (Redis).

A `PUT /v1/items` on one worker appends to the shared log and publishes its version
(`foundation.catalog.updates_redis`). Every worker runs one follower thread: on a message it
reads the entries after the last version it applied and swaps the updated catalog into its
`Assistant` (the vectors are already in the shared Chroma server, so nothing is re-indexed).
The same swap rebuilds everything derived from the catalog (candidate arrays, title matcher,
onboarding pool): this is the workers' cache invalidation. A periodic read of the log
(`poll_s`) covers messages missed while the connection to Redis was down.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from recassist.foundation.catalog.updates_redis import CHANNEL, client, entries_since, log_version, replay

log = logging.getLogger(__name__)


class CatalogFollower:
    """Follows the catalog-updates log at `redis_url` for `assistant` (anything with `follow_catalog`).

    `start_version`: the log version the assistant's catalog already includes (read it before
    opening the assistant, so nothing appended in between is missed; re-applying is a no-op).
    """

    def __init__(self, assistant: Any, redis_url: str, *, start_version: int | None = None,
                 poll_s: float = 5.0) -> None:
        self.assistant = assistant
        self.url = redis_url
        self.version = log_version(redis_url) if start_version is None else start_version
        self.poll_s = poll_s
        self.applied = 0  # updates that changed this worker's catalog (for tests and logs)
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
        """Apply the log's entries after the version the assistant's catalog includes; returns how many
        changed the catalog."""
        with self._lock:
            since = max(self.version, getattr(self.assistant, "catalog_version", 0))
            entries = entries_since(self.url, since)
            if not entries:
                return 0
            changed = 0

            def fold(catalog):
                nonlocal changed
                catalog, changed = replay(catalog, entries)
                return catalog

            self.assistant.follow_catalog(fold, entries[-1][0])
            self.version = entries[-1][0]
            self.applied += changed
            return changed

    def _run(self) -> None:
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = client(self.url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
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
