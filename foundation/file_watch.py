"""Adopting a model file that another process finishes while this one serves: poll its modification time,
look at it only when it changed, stop once something was adopted."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class FileWatcher(threading.Thread):
    """Calls `changed()` each time `path` has a new modification time, until it returns True.

    Subclasses load and hand over in `changed` (in this thread; the swap itself should be one assignment).
    An exception there is logged and the next change is awaited: a damaged file never stops the server."""

    def __init__(self, path: Path, name: str, interval_s: float = 5.0) -> None:
        super().__init__(name=name, daemon=True)
        self.path, self.interval_s = Path(path), interval_s
        self.stopped = threading.Event()
        self._seen: float | None = None

    def changed(self) -> bool:
        raise NotImplementedError

    def check(self) -> bool:
        """One poll; True when `changed` finished the watch."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return False
        if mtime == self._seen:
            return False
        self._seen = mtime
        return self.changed()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                if self.check():
                    return
            except Exception:
                log.exception("could not adopt %s; waiting for it to change", self.path)
