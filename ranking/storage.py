"""Writing and reading ranker files safely: atomic replace, no arbitrary pickles, clear errors.

Numpy rankers are `.npz` files (`allow_pickle=False`) with a JSON `meta` entry;
the torch ranker is a `torch.save` dict of tensors and plain values, read with
`weights_only=True`. Both record the ranker name, a format version, the config
and the catalog version, so a file from another catalog or config is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from recassist.foundation.errors import InputError, StateMismatchError


class CheckpointError(InputError):
    """A ranker file is missing, truncated or not a ranker file at all; the message names the file."""


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` via a temp file in the same folder, fsync, then `os.replace`.

    A crash or exception inside `write` leaves any previous file at `path` untouched
    (the temp file is removed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself is only durable once the directory entry is on disk.
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_npz(path: Path | str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Atomically write `arrays` plus `meta` (JSON-serialisable) to an `.npz` file."""
    payload = {"meta": np.array(json.dumps(meta, sort_keys=True))}
    payload.update({k: np.asarray(v) for k, v in arrays.items()})
    atomic_write(path, lambda f: np.savez(f, **payload))


def load_npz(path: Path | str, expect_name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file from `save_npz`; checks the ranker name. Raises `CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ranker file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"ranker file {path} is corrupt or not a ranker file ({e})") from None
    check_kind(meta, expect_name, path)
    return meta, arrays


def check_kind(meta: dict[str, Any], expect_name: str, path: Path) -> None:
    got = meta.get("ranker")
    if got != expect_name:
        raise StateMismatchError(f"{path} holds a '{got}' ranker, not '{expect_name}'")


def check_catalog(saved_version: str | None, catalog_version: str | None, path: Path | str) -> None:
    """Refuse a file trained on another catalog (`StateMismatchError`); None skips the check."""
    if catalog_version is not None and saved_version != catalog_version:
        raise StateMismatchError(
            f"{path} was trained on catalog version {saved_version}, but the loaded catalog is "
            f"{catalog_version}; retrain with `recassist train`"
        )


def as_array(value: Any) -> np.ndarray:
    """A checkpoint value as a numpy array: torch tensors (read from `.pt` files) and arrays (from `.npz`)
    alike, so loaders need not import torch."""
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def flatten_state(prefix: str, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Plain values of `state` returned; its tensors and arrays moved into `arrays` as '<prefix>/<key>' (nested
    dicts too), each replaced by a reference {'array': key}: the plain part goes to JSON, the rest to npz."""
    plain: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, dict):
            plain[key] = flatten_state(f"{prefix}/{key}", value, arrays)
        elif hasattr(value, "numpy") or isinstance(value, np.ndarray):
            arrays[f"{prefix}/{key}"] = as_array(value)
            plain[key] = {"array": f"{prefix}/{key}"}
        else:
            plain[key] = value
    return plain


def unflatten_state(plain: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """`flatten_state` undone: the arrays put back where their references are."""
    out: dict[str, Any] = {}
    for key, value in plain.items():
        if isinstance(value, dict) and set(value) == {"array"}:
            out[key] = arrays[value["array"]]
        elif isinstance(value, dict):
            out[key] = unflatten_state(value, arrays)
        else:
            out[key] = value
    return out
