"""Item-kNN: cosine similarity between items' user vectors, each item keeping its k nearest neighbours.

score(user, i) = sum over history items j of sim(j, i), where i is among j's k neighbours.
k is picked on validation NDCG@10 from `KS` (all neighbour lists are computed once at the
largest k and truncated, so the search costs one similarity pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from recassist.ranking.base import EncodedUser, Ranker, register
from recassist.ranking.data import InteractionData, interaction_matrix
from recassist.ranking.metrics import validation_ndcg
from recassist.ranking.storage import check_catalog, load_npz, save_npz

FORMAT = 1
KS = (5, 10, 20, 50, 100, 200, 400)
BLOCK = 1024  # item rows per similarity block: bounds memory at BLOCK x n_items floats


def _neighbours(x: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine neighbours per item, best first: indices int64 [I, k], sims float32 [I, k] (0 = none)."""
    n_items = x.shape[1]
    k = min(k, max(n_items - 1, 1))
    xt = x.T.tocsr()
    norms = np.sqrt(np.asarray(x.sum(0)).ravel()).astype(np.float32)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    idx = np.zeros((n_items, k), dtype=np.int64)
    sims = np.zeros((n_items, k), dtype=np.float32)
    for start in range(0, n_items, BLOCK):
        rows = np.arange(start, min(start + BLOCK, n_items))
        s = (xt[rows] @ x).toarray() * inv[rows, None] * inv[None, :]
        s[np.arange(rows.size), rows] = 0.0  # an item is not its own neighbour
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, top, 1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[rows] = np.take_along_axis(top, order, 1)
        sims[rows] = np.take_along_axis(vals, order, 1)
    return idx, sims


def _sim_matrix(idx: np.ndarray, sims: np.ndarray, k: int) -> sp.csr_matrix:
    n = idx.shape[0]
    rows = np.repeat(np.arange(n), k)
    m = sp.csr_matrix((sims[:, :k].ravel(), (rows, idx[:, :k].ravel())), shape=(n, n))
    m.eliminate_zeros()
    return m


@register
class ItemKNNRanker(Ranker):
    """Item-based cosine kNN on binary interactions."""

    name = "itemknn"

    def __init__(self, k: int | None = None, ks: Sequence[int] = KS) -> None:
        super().__init__()
        self.ks = tuple(ks) if k is None else (k,)
        self.k = k
        self.catalog_version = ""
        self._sim: sp.csr_matrix | None = None  # [I, I], row j = neighbours of item j

    def fit(self, data: InteractionData, *, progress: bool = False) -> dict[str, Any]:
        self._set_vocabulary(data.item_ids)
        self.catalog_version = data.catalog_version
        idx, sims = _neighbours(interaction_matrix(data.sequences, data.n_items), max(self.ks))
        best = (-1.0, self.ks[0])
        for k in self.ks:
            self._sim = _sim_matrix(idx, sims, min(k, idx.shape[1]))
            if len(self.ks) > 1:
                best = max(best, (validation_ndcg(self._score_histories, data.sequences, data.valid_targets,
                                                  data.n_items), k))
        self.k = best[1] if len(self.ks) > 1 else self.ks[0]
        self._sim = _sim_matrix(idx, sims, min(self.k, idx.shape[1]))
        return {"k": self.k, "valid_ndcg@10": best[0] if best[0] >= 0 else None}

    def _score_histories(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        assert self._sim is not None
        h = interaction_matrix(histories, len(self.item_ids))
        return np.asarray((h @ self._sim).toarray(), dtype=np.float32)

    def score(self, users: Sequence[EncodedUser]) -> np.ndarray:
        self._require_fitted()
        return self._score_histories([u.items for u in users])

    def save(self, path: Path | str) -> None:
        self._require_fitted()
        assert self._sim is not None
        s = self._sim
        meta = {"ranker": self.name, "format": FORMAT, "catalog_version": self.catalog_version, "k": self.k}
        save_npz(path, meta, {"item_ids": np.array(self.item_ids), "data": s.data, "indices": s.indices,
                              "indptr": s.indptr})

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> ItemKNNRanker:
        meta, a = load_npz(path, cls.name)
        check_catalog(meta.get("catalog_version"), catalog_version, path)
        r = cls(k=int(meta["k"]))
        r._set_vocabulary(a["item_ids"].tolist())
        r.catalog_version = meta["catalog_version"]
        n = len(r.item_ids)
        r._sim = sp.csr_matrix((a["data"], a["indices"], a["indptr"]), shape=(n, n))
        return r
