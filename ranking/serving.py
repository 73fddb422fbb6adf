"""Loading the trained ranker for serving: one call, clear errors, threads pinned."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from recassist.foundation.catalog import Catalog
from recassist.foundation.file_watch import FileWatcher
from recassist.foundation.settings import Settings
from recassist.ranking.base import Ranker
from recassist.ranking.sasrec_scoring import SASRecScoring, TextEncoder
from recassist.ranking.staged import FULL_NAME, full_path
from recassist.ranking.storage import CheckpointError

CHECKPOINT_NAME = FULL_NAME
logger = logging.getLogger(__name__)


def default_checkpoint(settings: Settings) -> Path:
    """Where `recassist train` writes, and serving reads, the ranker: `models_dir / ranker.pt`."""
    return full_path(settings)


def load_default_ranker(settings: Settings, catalog: Catalog, threads: int = 1,
                        text_encoder: TextEncoder | None = None) -> SASRecScoring:
    """The trained ranker for `catalog`, ready for `recommend`: from its numpy export when that is current
    (no torch: `ranking.sasrec_numpy`), else from the checkpoint with torch (then exported for next time).

    Pins torch, when used, to `threads` intra-op threads (process-wide): one request's scoring is a
    few small matrix products, faster and steadier on one thread than split across cores.
    `text_encoder` embeds profile aspects (a serving process passes its shared, caching one); by
    default the sentence embedder is loaded lazily, on the first aspect query.
    Raises `CheckpointError` when there is no checkpoint ("run `recassist train`") or it is
    damaged, `StateMismatchError` when it was trained on another catalog.
    """
    from recassist.ranking.sasrec_numpy import load_exported

    path = default_checkpoint(settings)
    if not path.is_file():
        raise CheckpointError(f"no trained ranker at {path}; run `recassist train` first")
    encoder = text_encoder or _aspect_encoder(settings)
    ranker = load_exported(path, catalog.version, encoder)
    if ranker is not None:
        return ranker
    return _load_with_torch(settings, path, catalog, threads, encoder)


def _load_with_torch(settings: Settings, path: Path, catalog: Catalog, threads: int,
                     text_encoder: TextEncoder) -> SASRecScoring:
    """The checkpoint loaded with torch; a complete one is exported so later starts need no torch."""
    import torch
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.sasrec_numpy import export
    from recassist.ranking.staged import full_model_info

    torch.set_num_threads(threads)
    ranker = SASRecRanker.load(path, catalog_version=catalog.version, text_encoder=text_encoder)
    info = full_model_info(settings, catalog.version)
    if info is not None:
        try:
            export(ranker, path, {"valid_ndcg@10": info["valid_ndcg@10"], "complete": True})
        except OSError as e:  # a read-only models dir: serve anyway, with torch next time too
            logger.warning("could not write the ranker's serving export: %s", e)
    return ranker


def _aspect_encoder(settings: Settings) -> TextEncoder:
    cache: dict[str, np.ndarray] = {}

    def encode(texts: list[str]) -> np.ndarray:
        """Aspect texts repeat across requests ("Comedy", "thought-provoking"): encode each once per process."""
        from recassist.retrieval.embedders import get_embedder

        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            if len(cache) > 50_000:
                cache.clear()
            for t, v in zip(missing, get_embedder(settings).encode(missing), strict=True):
                cache[t] = v
        return np.stack([cache[t] for t in texts])

    return encode


def load_serving_ranker(settings: Settings, catalog: Catalog, threads: int = 1,
                        text_encoder: TextEncoder | None = None) -> tuple[Ranker, dict]:
    """The best ranker ready for `catalog`: the complete full model at `ranker.pt`, else the quick
    count-blend model (`ranking.staged`). Returns (ranker, description: name, kind, validation NDCG@10).

    Raises `CheckpointError` naming the command to run when neither exists.
    """
    from recassist.ranking.count_blend import CountBlendRanker
    from recassist.ranking.staged import full_model_info, quick_path  # noqa: I001

    info = full_model_info(settings, catalog.version)
    if info is not None:
        ranker = load_default_ranker(settings, catalog, threads, text_encoder)
        return ranker, {"name": ranker.name, "kind": "full", "valid_ndcg": info["valid_ndcg@10"]}
    path = quick_path(settings)
    if not path.is_file():
        raise CheckpointError(f"no trained ranker in {settings.models_dir}; run `recassist demo` (or "
                              "`recassist train`) first")
    ranker = CountBlendRanker.load(path, catalog_version=catalog.version)
    return ranker, {"name": ranker.name, "kind": "quick", "valid_ndcg": ranker.report.get("valid_ndcg@10")}


class FullRankerWatcher(FileWatcher):
    """Watches `ranker.pt` and hands a newly completed full model to `adopt(ranker, description)` when it
    scores at least as well on validation as the one serving (`current_ndcg`; None = unknown, adopt).

    Loading happens in this thread; the swap itself is `adopt`'s one assignment. Stops after adopting.
    """

    def __init__(self, settings: Settings, catalog: Catalog, current_ndcg: float | None,
                 adopt: Callable[[Ranker, dict], None], text_encoder: TextEncoder | None = None,
                 interval_s: float = 5.0) -> None:
        super().__init__(default_checkpoint(settings), "recassist-ranker-watcher", interval_s)
        self.settings, self.catalog, self.current_ndcg = settings, catalog, current_ndcg
        self.adopt, self.text_encoder = adopt, text_encoder

    def changed(self) -> bool:
        """True when a model was adopted (or rejected for scoring lower: no more watching)."""
        from recassist.ranking.staged import full_model_info

        info = full_model_info(self.settings, self.catalog.version)
        if info is None:
            return False
        ndcg = info["valid_ndcg@10"]
        if ndcg is not None and self.current_ndcg is not None and ndcg < self.current_ndcg:
            logger.warning("kept the quick ranker: the full model's validation NDCG@10 %.4f is below its %.4f",
                           ndcg, self.current_ndcg)
            return True
        ranker = load_default_ranker(self.settings, self.catalog, text_encoder=self.text_encoder)
        self.adopt(ranker, {"name": ranker.name, "kind": "full", "valid_ndcg": ndcg, "adopted_at": time.time()})
        return True
