"""Loading the trained ranker for serving: one call, clear errors, threads pinned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from recassist.foundation.catalog import Catalog
from recassist.foundation.settings import Settings
from recassist.ranking.sasrec import SASRecRanker, TextEncoder
from recassist.ranking.storage import CheckpointError

CHECKPOINT_NAME = "ranker.pt"


def default_checkpoint(settings: Settings) -> Path:
    """Where `recassist train` writes, and serving reads, the ranker: `models_dir / ranker.pt`."""
    return Path(settings.models_dir) / CHECKPOINT_NAME


def load_default_ranker(settings: Settings, catalog: Catalog, threads: int = 1,
                        text_encoder: TextEncoder | None = None) -> SASRecRanker:
    """The trained ranker for `catalog`, ready for `recommend`.

    Pins torch to `threads` intra-op threads (process-wide): one request's scoring is a
    few small matrix products, faster and steadier on one thread than split across cores.
    `text_encoder` embeds profile aspects (a serving process passes its shared, caching one); by
    default the sentence embedder is loaded lazily, on the first aspect query.
    Raises `CheckpointError` when there is no checkpoint ("run `recassist train`") or it is
    damaged, `StateMismatchError` when it was trained on another catalog.
    """
    path = default_checkpoint(settings)
    if not path.is_file():
        raise CheckpointError(f"no trained ranker at {path}; run `recassist train` first")
    torch.set_num_threads(threads)
    if text_encoder is not None:
        return SASRecRanker.load(path, catalog_version=catalog.version, text_encoder=text_encoder)

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

    ranker = SASRecRanker.load(path, catalog_version=catalog.version, text_encoder=encode)
    return ranker
