"""Adopting a conversation-trained layer that finishes while the server runs (`recassist demo` trains it in
the background; `recassist train conversations` in another terminal works the same way)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from recassist.assistant.dialogue.scorer import LAYER_FILE, ConversationScorer

log = logging.getLogger(__name__)


class ConversationLayerWatcher(threading.Thread):
    """Polls the layer file and hands a complete, current scorer to `adopt(scorer)`; stops after adopting.

    The layer file is written last of the three (each atomically), so a change to it is the moment to look;
    a set that is still incomplete or stale is skipped until the file changes again. Loading happens in
    this thread; the swap is `adopt`'s one assignment."""

    def __init__(self, models_dir: Path | str, catalog_version: str, adopt: Callable[[ConversationScorer], None],
                 interval_s: float = 5.0) -> None:
        super().__init__(name="recassist-layer-watcher", daemon=True)
        self.models_dir, self.catalog_version = Path(models_dir), catalog_version
        self.adopt, self.interval_s = adopt, interval_s
        self.stopped = threading.Event()
        self._seen: float | None = None

    def check(self) -> bool:
        """One poll; True when a scorer was adopted."""
        try:
            mtime = (self.models_dir / LAYER_FILE).stat().st_mtime
        except OSError:
            return False
        if mtime == self._seen:
            return False
        self._seen = mtime
        scorer = ConversationScorer.open(self.models_dir, self.catalog_version, quiet=True)
        if scorer is None:
            return False
        self.adopt(scorer)
        return True

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                if self.check():
                    return
            except Exception:  # a damaged file: keep the hand-set blend, look again when the file changes
                log.exception("could not load the conversation layer in %s", self.models_dir)
