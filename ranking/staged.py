"""The served ranker in stages: a count model ready in seconds, the full model trained behind it.

Files under `settings.models_dir`:
- `quick_ranker.npz`: `CountBlendRanker` (EASE + transitions), fitted in seconds on a fresh data dir;
- `ranker.pt`: the full model (self-attention ensemble + count blend). Only a finished model, blend
  included, is ever moved here (`os.replace` from the staging file), so a reader never sees a
  half-trained one;
- `ranker.training.pt`: the full model while it trains (resumable after Ctrl+C or kill -9);
- `training.json`: progress of the trainer (state, network, epoch, best validation NDCG@10), rewritten
  atomically after every validation;
- `trainer.lock`: held (flock) by the one process training, so a restart never starts a second.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recassist.foundation.catalog import Catalog
from recassist.foundation.errors import StateMismatchError
from recassist.foundation.settings import Settings
from recassist.ranking.storage import CheckpointError, atomic_write

FULL_NAME = "ranker.pt"
QUICK_NAME = "quick_ranker.npz"
STAGING_NAME = "ranker.training.pt"
STATUS_NAME = "training.json"
LOCK_NAME = "trainer.lock"
SERVED_NDCG_KEY = "served_valid_ndcg"  # checkpoint key: validation NDCG@10 of the served (blended) model


def full_path(settings: Settings) -> Path:
    """Where `recassist train` writes, and serving reads, the full ranker."""
    return Path(settings.models_dir) / FULL_NAME


def quick_path(settings: Settings) -> Path:
    return Path(settings.models_dir) / QUICK_NAME


def staging_path(settings: Settings) -> Path:
    return Path(settings.models_dir) / STAGING_NAME


def status_path(settings: Settings) -> Path:
    return Path(settings.models_dir) / STATUS_NAME


# --- what is there -------------------------------------------------------
def complete(ck: dict[str, Any]) -> bool:
    """Whether a checkpoint read by `read_checkpoint` is a finished model, its count blend included."""
    from recassist.ranking.sasrec_ckpt import training_finished

    return training_finished(ck) and (not ck["config"].ease_blend or "ease" in ck)


def full_model_info(settings: Settings, catalog_version: str) -> dict[str, Any] | None:
    """{'path', 'valid_ndcg@10'} of a complete full model for this catalog at `ranker.pt`, else None.
    Read from its current serving export when there is one (no torch), else from the checkpoint."""
    from recassist.ranking.sasrec_numpy import exported_meta

    path = full_path(settings)
    if not path.is_file():
        return None
    meta = exported_meta(path, catalog_version)
    if meta is not None and meta["info"].get("complete"):
        return {"path": str(path), "valid_ndcg@10": meta["info"].get("valid_ndcg@10")}
    from recassist.ranking.sasrec_ckpt import read_checkpoint

    try:
        ck = read_checkpoint(path, catalog_version=catalog_version)
    except (StateMismatchError, CheckpointError):
        return None
    if not complete(ck):
        return None
    return {"path": str(path), "valid_ndcg@10": _valid_ndcg(ck)}


def _valid_ndcg(ck: dict[str, Any]) -> float | None:
    """The served model's validation NDCG@10: the blend's when there is one, else the networks'."""
    value = ck.get(SERVED_NDCG_KEY)
    return float(value) if value is not None else None  # None: written before this key existed


def ensure_quick_ranker(settings: Settings, catalog: Catalog) -> tuple[Any, str]:
    """The count-blend ranker for `catalog`: loaded when current, else fitted (seconds) and saved.

    Returns (ranker, note). A stale or damaged file is refitted, never served.
    """
    from recassist.ranking.count_blend import CountBlendRanker
    from recassist.ranking.data import all_for_training

    path = quick_path(settings)
    if path.is_file():
        try:
            return CountBlendRanker.load(path, catalog.version), f"quick ranker: reused {path}"
        except (StateMismatchError, CheckpointError) as e:
            print(f"refitting the quick ranker: {e}", file=sys.stderr)
    started = time.perf_counter()
    ranker = CountBlendRanker()
    report = ranker.fit(all_for_training(catalog))
    ranker.save(path)
    return ranker, (f"quick ranker: fitted {path} in {time.perf_counter() - started:.1f} s "
                    f"(validation NDCG@10 {report['valid_ndcg@10']:.4f})")


# --- training the full model ---------------------------------------------
class TrainerLock:
    """An exclusive, non-blocking flock on `trainer.lock`; released when the holder exits, even by kill -9."""

    def __init__(self, settings: Settings) -> None:
        self.path = Path(settings.models_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def held_elsewhere(self) -> bool:
        """Whether another process holds the lock right now (a trainer is running)."""
        if self.acquire():
            self.release()
            return False
        return True


def write_status(settings: Settings, **fields: Any) -> None:
    """Rewrite `training.json` atomically with `fields` (plus the time and this process id)."""
    data = dict(fields, pid=os.getpid(), updated_at=time.time())
    atomic_write(status_path(settings), lambda f: f.write(json.dumps(data).encode()))


def read_status(settings: Settings) -> dict[str, Any]:
    """The trainer's last status, with `running` (a trainer holds the lock now); {} when none was written."""
    path = status_path(settings)
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if data:
        data["running"] = TrainerLock(settings).held_elsewhere()
    return data


def train_full_ranker(settings: Settings, catalog: Catalog, *, config=None, progress: bool = False,
                      text_vectors: Callable[[], tuple[Any, str]] | None = None) -> str:
    """Train the full model into the staging file (resuming an interrupted run), then move it to
    `ranker.pt`. A complete, current `ranker.pt` is reused. Returns a one-line note.

    `text_vectors() -> (float32 [n_items, dim] in the catalog's order, embedder name)`: the item text
    vectors when the config uses text. Progress goes to `training.json` after every validation.
    """
    import torch
    from recassist.ranking.data import all_for_training
    from recassist.ranking.ease_blend import EaseBlend
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.sasrec_ckpt import add_to_checkpoint, read_checkpoint
    from recassist.ranking.sasrec_model import SASRecConfig

    cfg = config or SASRecConfig()
    final, staging = full_path(settings), staging_path(settings)
    info = full_model_info(settings, catalog.version)
    if info is not None:
        _note_outdated(final, catalog.version, cfg)
        write_status(settings, state="done", valid_ndcg=info["valid_ndcg@10"], members=cfg.members)
        return f"ranker: reused {final}"
    if final.is_file() and not staging.is_file():
        # A run that wrote `ranker.pt` directly and stopped part-way: continue it from the staging file.
        try:
            if not complete(read_checkpoint(final, catalog_version=catalog.version)):
                os.replace(final, staging)
        except (StateMismatchError, CheckpointError):
            pass
    resume = False
    if staging.is_file():
        try:
            ck = read_checkpoint(staging, catalog_version=catalog.version)
            cfg, resume = ck["config"], True
        except (StateMismatchError, CheckpointError) as e:
            print(f"training the ranker from scratch: {e}", file=sys.stderr)
            staging.unlink()
    data = all_for_training(catalog)
    if cfg.use_text:
        if text_vectors is None:
            raise ValueError("this ranker config uses item text: pass text_vectors")
        vectors, model_name = text_vectors()
        data = data.with_text(vectors, model_name)
    torch.set_num_threads(cfg.threads)
    state = {"state": "training", "members": cfg.members, "max_epochs": cfg.max_epochs, "member": 0,
             "epoch": 0, "best_valid_ndcg": None, "started_at": time.time()}
    write_status(settings, **state)

    def on_eval(row: dict) -> None:
        state.update(member=int(row.get("member", 0)), epoch=int(row.get("epoch", 0)))
        if row.get("valid_ndcg@10") is not None:
            state["last_valid_ndcg"] = float(row["valid_ndcg@10"])
            best = state.get("best_valid_ndcg")
            state["best_valid_ndcg"] = max(float(row["valid_ndcg@10"]), best if best is not None else -1.0)
        write_status(settings, **state)

    ranker = SASRecRanker(cfg)
    if resume and complete_networks(staging, catalog.version):
        # Killed after the networks finished but before the blend was saved: fit only the blend.
        ranker = SASRecRanker.load(staging, catalog_version=catalog.version)
        if cfg.ease_blend:
            ranker._blend = EaseBlend.fit(data, ranker._sequence_scores)
            if ranker._blend is not None:
                add_to_checkpoint(staging, "ease", ranker._blend.state())
        report = {"best_valid_ndcg@10": ranker._blend.valid_ndcg if ranker._blend else float("nan")}
    else:
        if resume:
            print("resuming the interrupted ranker training", file=sys.stderr)
        report = ranker.fit(data, progress=progress, checkpoint=staging, resume=resume, on_eval=on_eval)
    ndcg = float(report.get("best_valid_ndcg@10", float("nan")))
    if cfg.ease_blend and "ease" not in read_checkpoint(staging):
        # No blend weight helped on validation: record that the blend step ran, with nothing to add.
        add_to_checkpoint(staging, "ease", {})
    add_to_checkpoint(staging, SERVED_NDCG_KEY, ndcg)
    os.replace(staging, final)  # the one step that makes the new model visible to servers
    _export_for_serving(final, catalog.version, ndcg)
    write_status(settings, state="done", members=cfg.members, valid_ndcg=ndcg)
    return f"ranker: trained {final} (best validation NDCG@10 {ndcg:.4f})"


def _export_for_serving(final: Path, catalog_version: str, ndcg: float) -> None:
    """The numpy serving export beside the new `ranker.pt` (`ranking.sasrec_numpy`), so servers adopt and
    later start it without torch. A server that finds none writes it itself, so a failure here only costs
    that server's time."""
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.sasrec_numpy import export

    try:
        export(SASRecRanker.load(final, catalog_version=catalog_version), final,
               {"valid_ndcg@10": ndcg, "complete": True})
    except OSError as e:
        print(f"could not write the ranker's serving export: {e}", file=sys.stderr)


def complete_networks(path: Path, catalog_version: str) -> bool:
    """Whether the staging checkpoint holds finished networks (only the blend step is missing)."""
    from recassist.ranking.sasrec_ckpt import read_checkpoint, training_finished

    try:
        return training_finished(read_checkpoint(path, catalog_version=catalog_version))
    except (StateMismatchError, CheckpointError):
        return False


def outdated(ck: dict, cfg) -> bool:
    """Whether a finished checkpoint was made with another recipe than `cfg`: another model config, or an
    EASE blend from before the recency-weighted EASE and transitions (its state has no `decay`)."""
    old_blend = cfg.ease_blend and bool(ck.get("ease")) and "decay" not in ck["ease"]
    return _recipe(ck["config"]) != _recipe(cfg) or old_blend


def _recipe(cfg) -> dict:
    """The config fields that change the model (not e.g. threads or patience)."""
    return {k: v for k, v in cfg.as_dict().items() if k not in cfg.RESUMABLE_CHANGES}


def _note_outdated(path: Path, catalog_version: str, cfg) -> None:
    from recassist.ranking.sasrec_ckpt import read_checkpoint

    if outdated(read_checkpoint(path, catalog_version=catalog_version), cfg):
        print(f"note: the ranker at {path} was trained with another recipe than this version's; "
              "`recassist train` retrains it with the current one", file=sys.stderr)
