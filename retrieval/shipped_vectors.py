"""Precomputed item vectors shipped with the demo catalog, so a fresh install embeds nothing.

`foundation/demo_data/<catalog>/item_vectors.npz` (one per shipped catalog: the films, the books)
holds, per item document, its hash (the document text, so the document recipe is covered) and its
MiniLM vector (float16: half the size, and cosines move by ~1e-3 at most), plus the embedding model's
name (its fingerprint) and the recipe.
`item_vectors` takes a document's vector from it only when the model name matches the embedder in use
and the document hash matches; anything else is embedded as usual. So a changed recipe, a changed
item or another model never gets a stale vector.

`recassist index export-vectors [--domain books]` regenerates a file from that catalog (embedding what
the local cache lacks).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR

SHIPPED_NAME = "item_vectors.npz"
SHIPPED_FILE = DEMO_CATALOG_DIR / SHIPPED_NAME
SHIPPED_FILES = (SHIPPED_FILE, DEMO_BOOKS_DIR / SHIPPED_NAME)


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> tuple[str, str, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as z:
        model, recipe = str(z["model"]), str(z["recipe"])
        keys, vecs = z["keys"], z["vectors"].astype(np.float32)
    return model, recipe, {k.decode("ascii"): v for k, v in zip(keys, vecs, strict=True)}


def shipped_vectors(model_name: str, paths: tuple[Path, ...] = SHIPPED_FILES) -> dict[str, np.ndarray]:
    """{document hash: float32 vector} from the shipped files made with `model_name` and this recipe;
    a file that is missing, unreadable or holds another model's vectors adds nothing."""
    from recassist.retrieval.documents import DOC_RECIPE

    out: dict[str, np.ndarray] = {}
    for path in paths:
        try:
            model, recipe, vectors = _read(str(path), path.stat().st_mtime)
        except (OSError, ValueError, KeyError):
            continue
        if model == model_name and recipe == DOC_RECIPE:
            out.update(vectors)
    return out


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
