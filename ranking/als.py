"""Implicit ALS (Hu, Koren & Volinsky 2008) through benfred/implicit: matrix factorisation of binary
interactions with confidence 1 + alpha. Any user is scored by folding their items in
(`recalculate_user`: one least-squares solve against the fixed item factors), so people who
were never in the training data — a chat user, a held-out test history — are scored exactly
like training users. The grid (factors, regularisation, alpha) is searched on validation NDCG@10.

`implicit` is optional: install it with `pip install recassist[books]` (a PyPI wheel, no other
download). Without it the backend is still registered and `fit` / `load` say what to install.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from recassist.foundation.errors import ConfigError
from recassist.ranking.base import EncodedUser, Ranker, register
from recassist.ranking.data import InteractionData, interaction_matrix
from recassist.ranking.metrics import validation_ndcg
from recassist.ranking.storage import check_catalog, load_npz, save_npz
from threadpoolctl import threadpool_limits

FORMAT = 1
#: (factors, regularization, alpha) tried on validation; iterations fixed.
GRID = ((64, 0.05, 5.0), (128, 0.05, 5.0), (128, 0.5, 10.0), (256, 0.5, 10.0))
ITERATIONS = 15


def _implicit_als():
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        raise ConfigError("the 'als' ranker needs the implicit package: pip install 'recassist[books]'") from None
    return AlternatingLeastSquares


@register
class ALSRanker(Ranker):
    """Implicit-feedback ALS; user factors solved at scoring time from the user's items."""

    name = "als"

    def __init__(self, grid: Sequence[tuple[int, float, float]] = GRID, iterations: int = ITERATIONS,
                 threads: int = 2, seed: int = 0) -> None:
        super().__init__()
        self.grid = tuple(grid)
        self.iterations = iterations
        self.threads = threads
        self.seed = seed
        self.params: tuple[int, float, float] = self.grid[0]
        self.catalog_version = ""
        self._model: Any = None

    def _new_model(self, factors: int, reg: float, alpha: float):
        # implicit warns when BLAS may run threads; we limit BLAS to one thread around every call into
        # it (fit, recalculate_user), which its check, made once at construction, cannot see.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
            return _implicit_als()(factors=factors, regularization=reg, alpha=alpha, iterations=self.iterations,
                                   num_threads=self.threads, random_state=self.seed)

    def fit(self, data: InteractionData, *, progress: bool = False) -> dict[str, Any]:
        self._set_vocabulary(data.item_ids)
        self.catalog_version = data.catalog_version
        x = interaction_matrix(data.sequences, data.n_items)
        best: tuple[float, tuple[int, float, float], Any] = (-1.0, self.grid[0], None)
        for params in self.grid:
            model = self._new_model(*params)
            with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS threads on top thrash
                model.fit(x, show_progress=progress)
            self._model, self.params = model, params
            if len(self.grid) == 1 or data.valid_targets is None:
                best = (-1.0, params, model)
                break
            ndcg = validation_ndcg(self._score_histories, data.sequences, data.valid_targets, data.n_items)
            if ndcg > best[0]:
                best = (ndcg, params, model)
        _, self.params, self._model = best
        factors, reg, alpha = self.params
        return {"factors": factors, "regularization": reg, "alpha": alpha,
                "valid_ndcg@10": best[0] if best[0] >= 0 else None}

    def _score_histories(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        h = interaction_matrix(histories, len(self.item_ids))
        # implicit's solver runs OpenMP threads that call BLAS: threaded BLAS inside them can hang.
        with threadpool_limits(1, "blas"):
            users = self._model.recalculate_user(np.arange(h.shape[0]), h)
        return np.asarray(users @ self._model.item_factors.T, dtype=np.float32)

    def score(self, users: Sequence[EncodedUser]) -> np.ndarray:
        self._require_fitted()
        return self._score_histories([u.items for u in users])

    def save(self, path: Path | str) -> None:
        self._require_fitted()
        factors, reg, alpha = self.params
        meta = {"ranker": self.name, "format": FORMAT, "catalog_version": self.catalog_version,
                "factors": factors, "regularization": reg, "alpha": alpha, "iterations": self.iterations}
        save_npz(path, meta, {"item_ids": np.array(self.item_ids),
                              "item_factors": np.asarray(self._model.item_factors, dtype=np.float32)})

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> ALSRanker:
        meta, a = load_npz(path, cls.name)
        check_catalog(meta.get("catalog_version"), catalog_version, path)
        params = (int(meta["factors"]), float(meta["regularization"]), float(meta["alpha"]))
        r = cls(grid=(params,), iterations=int(meta["iterations"]))
        r._set_vocabulary(a["item_ids"].tolist())
        r.catalog_version = meta["catalog_version"]
        r.params = params
        r._model = r._new_model(*params)
        r._model.item_factors = np.ascontiguousarray(a["item_factors"], dtype=np.float32)
        return r
