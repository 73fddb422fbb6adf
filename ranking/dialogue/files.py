"""Loading the conversation-trained models' files with the checks they share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from recassist.foundation.errors import StateMismatchError
from recassist.ranking.storage import CheckpointError, load_npz


def load_current(path: Path | str, name: str, what: str,
                 catalog_version: str | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a `save_npz` file holding a `name` model. Raises `CheckpointError` (missing /
    corrupt) or `StateMismatchError` (another catalog version), both naming the command that rebuilds it."""
    if not Path(path).is_file():
        raise CheckpointError(f"no {what} model at {path}; run `recassist train conversations`")
    meta, arrays = load_npz(path, name)
    if catalog_version is not None and meta.get("catalog_version") != catalog_version:
        raise StateMismatchError(f"{path} was trained on another catalog version; run "
                                 "`recassist train conversations`")
    return meta, arrays


def config_from(config_type: type, saved: Any, path: Path | str):
    """The saved config as `config_type`; a config this version does not know (another version wrote the
    file) raises `StateMismatchError` naming the command that rebuilds it."""
    try:
        return config_type(**saved)
    except TypeError:
        raise StateMismatchError(f"{path} was written by another version of recassist; run "
                                 "`recassist train conversations`") from None
