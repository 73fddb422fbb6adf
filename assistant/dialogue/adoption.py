"""Adopting a conversation-trained layer that finishes while the server runs (`recassist demo` trains it in
the background; `recassist train conversations` in another terminal works the same way)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from recassist.assistant.dialogue.scorer import LAYER_FILE, ConversationScorer
from recassist.foundation.file_watch import FileWatcher


class ConversationLayerWatcher(FileWatcher):
    """Hands a complete, current scorer to `adopt(scorer)` each time the layer file changes, for as long as the
    server runs: the background trainer writes a first layer and later the full one, and
    `recassist train conversations` in another terminal writes one whenever it is run.

    The layer file is written last (each file atomically, naming the others by hash), so a change to it is the
    moment to look; a set that is still incomplete or stale is skipped until the file changes again."""

    def __init__(self, models_dir: Path | str, catalog_version: str, adopt: Callable[[ConversationScorer], None],
                 interval_s: float = 5.0) -> None:
        super().__init__(Path(models_dir) / LAYER_FILE, "recassist-layer-watcher", interval_s)
        self.models_dir, self.catalog_version, self.adopt = Path(models_dir), catalog_version, adopt

    def changed(self) -> bool:
        scorer = ConversationScorer.open(self.models_dir, self.catalog_version, quiet=True)
        if scorer is None:
            return False
        self.adopt(scorer)
        return False  # keep watching
