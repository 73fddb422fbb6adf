"""Make the artefacts the assistant needs: the vector index and the trained ranker (reused when current)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.catalog.updates import apply_updates
from recassist.foundation.errors import StateMismatchError
from recassist.foundation.settings import Settings


@dataclass
class PrepareReport:
    index: str
    ranker: str


def prepare(settings: Settings, *, progress: bool = True, train_config=None) -> PrepareReport:
    """Build the index (incremental: a warm start embeds nothing) and train the ranker if no current one exists.

    A checkpoint trained on another catalog version is retrained, not silently used; one whose training
    was interrupted is resumed from where it stopped.
    """
    import torch
    from recassist.ranking.data import all_for_training
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.sasrec_ckpt import read_checkpoint, training_finished
    from recassist.ranking.sasrec_model import SASRecConfig
    from recassist.ranking.serving import default_checkpoint
    from recassist.ranking.storage import CheckpointError
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.index import build_index
    from recassist.retrieval.item_vectors import item_vectors

    settings.ensure_dirs()
    catalog = load_catalog_cached(str(settings.catalog_dir))  # the ranker trains on the catalog folder
    embedder = get_embedder(settings)
    # The index also holds items added through the API since (see foundation.catalog.updates).
    built = build_index(apply_updates(catalog, settings), settings, embedder, progress=progress)
    index_note = f"index: {built}"
    path = default_checkpoint(settings)
    cfg = train_config or SASRecConfig()
    resume = False
    if path.is_file():
        try:
            ck = read_checkpoint(path, catalog_version=catalog.version)
            if training_finished(ck):
                SASRecRanker.load(path, catalog_version=catalog.version)
                if outdated(ck, cfg):
                    print(f"note: the ranker at {path} was trained with another recipe than this version's; "
                          "`recassist train` retrains it with the current one", file=sys.stderr)
                return PrepareReport(index_note, f"ranker: reused {path}")
            # A run stopped part-way (Ctrl+C, a crash): continue it with the config it was started with.
            cfg, resume = ck["config"], True
            print("resuming the interrupted ranker training", file=sys.stderr)
        except (StateMismatchError, CheckpointError) as e:
            print(f"retraining the ranker: {e}", file=sys.stderr)
    data = all_for_training(catalog)
    if cfg.use_text:
        _, vectors = item_vectors(catalog, settings, embedder, progress=progress)
        data = data.with_text(vectors, embedder.name)
    torch.set_num_threads(cfg.threads)
    report = SASRecRanker(cfg).fit(data, progress=progress, checkpoint=path, resume=resume)
    return PrepareReport(index_note, f"ranker: trained {path} (best validation NDCG@10 "
                                     f"{report.get('best_valid_ndcg@10', float('nan')):.4f})")


def outdated(ck: dict, cfg) -> bool:
    """Whether a finished checkpoint was made with another recipe than `cfg`: another model config, or an
    EASE blend from before the recency-weighted EASE and transitions (its state has no `decay`)."""
    old_blend = cfg.ease_blend and bool(ck.get("ease")) and "decay" not in ck["ease"]
    return _recipe(ck["config"]) != _recipe(cfg) or old_blend


def _recipe(cfg) -> dict:
    """The config fields that change the model (not e.g. threads or patience)."""
    return {k: v for k, v in cfg.as_dict().items() if k not in cfg.RESUMABLE_CHANGES}
