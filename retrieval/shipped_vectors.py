"""Precomputed item vectors shipped with the demo catalog, so a fresh install embeds nothing.

`foundation/demo_data/ml-latest-small/item_vectors.npz` holds, per item document, its hash (the
document text, so the document recipe is covered) and its MiniLM vector (float16: half the size, and
cosines move by ~1e-3 at most), plus the embedding model's name (its fingerprint) and the recipe.
`item_vectors` takes a document's vector from it only when the model name matches the embedder in use
and the document hash matches; anything else is embedded as usual. So a changed recipe, a changed
item or another model never gets a stale vector.

`recassist index export-vectors` regenerates the file from the current catalog (embedding what the
local cache lacks).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from recassist.foundation.settings import DEMO_CATALOG_DIR

SHIPPED_FILE = DEMO_CATALOG_DIR / "item_vectors.npz"


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> tuple[str, str, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as z:
        model, recipe = str(z["model"]), str(z["recipe"])
        keys, vecs = z["keys"], z["vectors"].astype(np.float32)
    return model, recipe, {k.decode("ascii"): v for k, v in zip(keys, vecs, strict=True)}


def shipped_vectors(model_name: str, path: Path = SHIPPED_FILE) -> dict[str, np.ndarray]:
    """{document hash: float32 vector} from the shipped file when it was made with `model_name`;
    {} when there is no file, it is unreadable, or it holds another model's vectors."""
    from recassist.retrieval.documents import DOC_RECIPE

    try:
        model, recipe, vectors = _read(str(path), path.stat().st_mtime)
    except (OSError, ValueError, KeyError):
        return {}
    return vectors if model == model_name and recipe == DOC_RECIPE else {}


def export(hashes: list[str], vectors: np.ndarray, model_name: str, path: Path = SHIPPED_FILE) -> int:
    """Write the shipped file (atomically) for documents `hashes` and their vectors [n, dim]; returns bytes."""
    from recassist.retrieval.documents import DOC_RECIPE

    buf = io.BytesIO()
    np.savez_compressed(buf, keys=np.array([h.encode("ascii") for h in hashes], dtype="S32"),
                        vectors=np.asarray(vectors, dtype=np.float16), model=np.array(model_name),
                        recipe=np.array(DOC_RECIPE))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return len(buf.getvalue())
