"""SASRec checkpoint file: one `torch.save` dict of tensors and plain values, read with `weights_only=True`.

Layout (format 2):
    ranker, format, config (JSON str), catalog_version, item_ids (list[str]),
    item_text float32 [n_items, t], has_id bool [n_items], item_counts int64 [n_items],
    models (list of state_dicts, one per ensemble member: its best validation epoch; while training,
            the members finished so far and the current one's best),
    ease (optional: the EASE blend: lam, weight, x_indptr / x_indices / x_shape of its training matrix),
    train (optional: member (index being trained), member_reports (finished members' reports), and that
           member's epoch, best_epoch, best_ndcg, bad_evals, elapsed_s, best_elapsed_s, history
           (list of dicts), last_model (state_dict), optimizer (state_dict), ema (state_dict or None)).
Format 1 (one network, its weights under `model`) is still read. Written atomically, so a crash
mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from recassist.foundation.errors import StateMismatchError
from recassist.ranking.sasrec_model import SASRecConfig
from recassist.ranking.storage import CheckpointError, atomic_write, check_catalog

NAME = "sasrec"
FORMAT = 2
READABLE_FORMATS = (1, 2)


def write_checkpoint(path: Path | str, payload: dict[str, Any]) -> None:
    """Atomically `torch.save` `payload` (already in the layout above) to `path`."""
    def write(f):
        buf = io.BytesIO()
        torch.save(payload, buf)
        f.write(buf.getbuffer())

    atomic_write(path, write)


def add_to_checkpoint(path: Path | str, key: str, value: Any) -> None:
    """Set `key` in the checkpoint at `path` (rewritten atomically, everything else kept)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    payload[key] = value
    write_checkpoint(path, payload)


#: Config fields added after checkpoints were first written, with the value those older checkpoints were
#: trained under (not today's default).
LEGACY_CONFIG = {"ema_decay": 0.0, "warmup_epochs": 0, "decay_epochs": 0, "text_layers": 1, "members": 1,
                 "ease_blend": False}


def read_checkpoint(
    path: Path | str, catalog_version: str | None = None, config: SASRecConfig | None = None
) -> dict[str, Any]:
    """Read and check a checkpoint; returns the payload with `config` parsed into `SASRecConfig`.

    Raises `CheckpointError` (missing, truncated, not a checkpoint) and `StateMismatchError`
    (another ranker, format, catalog version, or a `config` differing in a model-changing field).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no ranker checkpoint at {path}; train one with `recassist train`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        # torch's own message suggests weights_only=False, i.e. running arbitrary pickles: not shown.
        raise CheckpointError(
            f"ranker checkpoint {path} is corrupt or not a recassist checkpoint ({type(e).__name__}); "
            "delete it and run `recassist train` again"
        ) from None
    if not isinstance(payload, dict) or payload.get("ranker") != NAME:
        got = payload.get("ranker") if isinstance(payload, dict) else type(payload).__name__
        raise StateMismatchError(f"{path} is not a {NAME} checkpoint (found {got!r})")
    if payload.get("format") not in READABLE_FORMATS:
        raise StateMismatchError(
            f"{path} has checkpoint format {payload.get('format')}, this code reads "
            f"{', '.join(map(str, READABLE_FORMATS))}; train again with `recassist train`"
        )
    if payload["format"] == 1:
        payload["models"] = [payload.pop("model")]
    check_catalog(payload.get("catalog_version"), catalog_version, path)
    try:
        saved = SASRecConfig(**{**LEGACY_CONFIG, **json.loads(payload["config"])})
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path} has an unreadable config ({e})") from None
    if config is not None:
        check_config(saved, config, path)
    payload["config"] = saved
    return payload


def training_finished(payload: dict[str, Any]) -> bool:
    """Whether a checkpoint read by `read_checkpoint` holds a finished training run (False when its
    run was interrupted: members missing, or the last one stopped before early stopping / max epochs)."""
    cfg: SASRecConfig = payload["config"]
    t = payload.get("train")
    if t is None:
        return True  # saved by `save()`: a finished model
    if len(payload["models"]) < cfg.members or t.get("member", 0) < cfg.members - 1:
        return False
    last_epoch = min(cfg.max_epochs, cfg.decay_epochs or cfg.max_epochs)
    return t["bad_evals"] >= cfg.patience or t["epoch"] >= last_epoch


def check_config(saved: SASRecConfig, wanted: SASRecConfig, path: Path | str) -> None:
    """`StateMismatchError` listing every model-changing field where `wanted` differs from `saved`."""
    a, b = saved.as_dict(), wanted.as_dict()
    diff = [f"{k}: checkpoint {a[k]!r} vs requested {b[k]!r}" for k in a
            if a[k] != b[k] and k not in SASRecConfig.RESUMABLE_CHANGES]
    if diff:
        raise StateMismatchError(
            f"{path} was trained with another config ({'; '.join(diff)}); "
            "use the same settings, or train from scratch without --resume"
        )
