"""Item text vectors for a whole catalog, cached on disk per document hash.

The cache is one `.npz` per embedding model under `settings.embedding_cache_dir`
mapping document hash -> vector. Only documents whose hash is not there are
embedded, so a catalog that gained ten items embeds ten items. Progress is
saved every few thousand documents, so a killed run resumes where it stopped.
Writes go to a temporary file then `os.replace`, so readers (another process
in the same checkout) never see half a file; two concurrent writers can at
worst lose each other's additions, which the next call re-embeds.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import numpy as np
from recassist.foundation.catalog import Catalog
from recassist.foundation.settings import Settings
from recassist.retrieval.documents import catalog_documents, document_hash, item_document
from recassist.retrieval.embedder import Embedder
from recassist.retrieval.embedders import get_embedder
from recassist.retrieval.shipped_vectors import shipped_vectors

SAVE_EVERY = 2048
ENCODE_CHUNK = 256

_memo: dict[tuple[str, str, str], tuple[list[str], np.ndarray]] = {}
_memo_lock = threading.Lock()


def cache_path(settings: Settings, embedder: Embedder) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name)
    return Path(settings.embedding_cache_dir) / f"{safe}.npz"


def item_vectors(
    catalog: Catalog, settings: Settings, embedder: Embedder | None = None, progress: bool = False
) -> tuple[list[str], np.ndarray]:
    """Text vectors of every catalog item -> (item ids in catalog order, float32 [n_items, dim]).

    Rows are L2-normalised (cosine = dot product). Cached in memory per
    (catalog version, model, cache file) and on disk per document hash.
    Raises `InputError` for an empty catalog or an item without text.
    The returned array is shared: treat it as read-only.
    """
    embedder = embedder or get_embedder(settings)
    path = cache_path(settings, embedder)
    key = (catalog.version, embedder.name, str(path.resolve()))
    with _memo_lock:
        if key in _memo:
            return _memo[key]
    ids, docs = catalog_documents(catalog)
    hashes = [document_hash(d) for d in docs]
    vectors = embed_documents(docs, hashes, path, embedder, progress)
    vectors.setflags(write=False)
    with _memo_lock:
        _memo[key] = (ids, vectors)
    return ids, vectors


def updated_vectors(catalog: Catalog, previous_ids: list[str], previous_vectors: np.ndarray,
                    upserted: frozenset[str], settings: Settings, embedder: Embedder) -> np.ndarray:
    """`item_vectors(catalog)[1]` after a small catalog change: rows of unchanged items are copied from
    `previous_vectors` (rows in `previous_ids` order); only `upserted` items' documents are looked up in
    the cache file or embedded. float32 [n_items, dim], read-only."""
    old_row = {item_id: r for r, item_id in enumerate(previous_ids)}
    ids = list(catalog.item_ids)
    out = np.empty((len(ids), embedder.dim), dtype=np.float32)
    fresh = []
    for row, item_id in enumerate(ids):
        r = old_row.get(item_id)
        if r is None or item_id in upserted:
            fresh.append(row)
        else:
            out[row] = previous_vectors[r]
    if fresh:
        docs = [item_document(catalog.items[ids[row]]) for row in fresh]
        out[fresh] = embed_documents(docs, [document_hash(d) for d in docs], cache_path(settings, embedder), embedder)
    out.setflags(write=False)
    return out


def embed_documents(
    docs: list[str], hashes: list[str], path: Path, embedder: Embedder, progress: bool = False
) -> np.ndarray:
    """Vectors for `docs` (float32 [len(docs), dim]), reusing and extending the cache file at `path`."""
    cache = _load(path, embedder.dim)
    missing = sorted({h: i for i, h in enumerate(hashes) if h not in cache}.values())
    if missing:
        # Documents of the shipped demo catalog come precomputed (same model and document hash only).
        shipped = shipped_vectors(embedder.name)
        found = [i for i in missing if hashes[i] in shipped]
        for i in found:
            cache[hashes[i]] = shipped[hashes[i]]
        if found:
            missing = [i for i in missing if hashes[i] not in shipped]
            _save(path, cache, embedder.dim)
    if missing:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(missing), desc=f"embedding ({embedder.name})", unit="doc")
        unsaved = 0
        for start in range(0, len(missing), ENCODE_CHUNK):
            chunk = missing[start : start + ENCODE_CHUNK]
            vecs = embedder.encode([docs[i] for i in chunk])
            for i, v in zip(chunk, vecs, strict=True):
                cache[hashes[i]] = v
            unsaved += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
            if unsaved >= SAVE_EVERY:
                _save(path, cache, embedder.dim)
                unsaved = 0
        if bar is not None:
            bar.close()
        _save(path, cache, embedder.dim)
    out = np.empty((len(docs), embedder.dim), dtype=np.float32)
    for row, h in enumerate(hashes):
        out[row] = cache[h]
    return out


def _load(path: Path, dim: int) -> dict[str, np.ndarray]:
    """Cache file -> {hash: vector}; a missing, unreadable or wrong-dimension file counts as empty."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, vecs = z["keys"], z["vectors"]
    except (OSError, ValueError, KeyError):
        # A corrupt cache only costs re-embedding; never fail the caller over it.
        return {}
    if vecs.ndim != 2 or vecs.shape[1] != dim or len(keys) != len(vecs):
        return {}
    return {k.decode("ascii"): v for k, v in zip(keys, vecs, strict=True)}


def _save(path: Path, cache: dict[str, np.ndarray], dim: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array([k.encode("ascii") for k in cache], dtype="S32")
    vecs = np.stack(list(cache.values())).astype(np.float32) if cache else np.zeros((0, dim), np.float32)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, keys=keys, vectors=vecs)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
