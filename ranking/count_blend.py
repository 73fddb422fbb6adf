"""`CountBlendRanker`: the ranker that is ready in seconds - recency-weighted EASE plus item transitions.

These are the count models the sequence ranker already blends in (`ranking.ease_blend`); on their own
they fit in seconds on 2 cores (EASE in its Woodbury form inverts a users x users matrix), so a fresh
data dir can serve trained recommendations while the self-attention networks train in the background
(`ranking.background`). Score = `ease / std(ease) + transition_weight * transitions / std(transitions)`,
the weight picked on validation NDCG@10 together with EASE's lambda and recency decay.

A user without items scores by popularity (log of training interactions). Profile aspects are left to
the engine's own aspect and content signals: this model has no text.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from recassist.ranking.base import EncodedUser, Ranker, register
from recassist.ranking.data import InteractionData
from recassist.ranking.ease import RECENCY_DECAYS, EASERanker
from recassist.ranking.ease_blend import EaseBlend, scaled
from recassist.ranking.metrics import evaluate
from recassist.ranking.storage import CheckpointError, atomic_write, check_catalog, flatten_state, unflatten_state
from recassist.ranking.transitions import TransitionModel

FORMAT = 2  # 1: a torch file (needed torch to read); refitted when found
#: Transition weights tried on validation, relative to EASE's (0 = EASE alone).
LAMBDA_SEARCH_DECAY = 0.85  # EASE alone peaked near it on ml-latest-small (`ranking.ease`)
TRANSITION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


@register
class CountBlendRanker(Ranker):
    """EASE + transitions, no networks. `report` holds the validation NDCG@10 after `fit` / `load`."""

    name = "count-blend"

    def __init__(self) -> None:
        super().__init__()
        self.catalog_version = ""
        self.blend: EaseBlend | None = None
        self.report: dict[str, Any] = {}
        self._prior = np.zeros(0, np.float32)
        self._counts = np.zeros(0, np.int64)

    def fit(self, data: InteractionData, *, progress: bool = False) -> dict[str, Any]:
        """Fit both count models and pick the transition weight on `data.valid_targets`.

        Raises `ValueError` when `data` has no validation targets (nothing to pick the weights on).
        """
        if data.valid_targets is None or not bool((data.valid_targets >= 0).any()):
            raise ValueError("CountBlendRanker.fit needs validation targets to pick its weights")
        # Lambda at a typical decay, then the decay at that lambda: 17 validation runs instead of the full
        # grid's 66 (a few seconds instead of ~30 on 2 cores); this model only serves until the full one is ready.
        lam = EASERanker(decays=(LAMBDA_SEARCH_DECAY,)).fit(data)["lam"]
        ease = EASERanker(lam=lam, decays=RECENCY_DECAYS)
        ease.fit(data)
        transitions = TransitionModel.fit(data)
        users = np.flatnonzero(data.valid_targets >= 0)
        hist = [data.sequences[u] for u in users]
        eas = np.concatenate([scaled(ease._score_histories(hist[i:i + 256])) for i in range(0, len(hist), 256)])
        tra = np.concatenate([scaled(transitions.scores(hist[i:i + 256])) for i in range(0, len(hist), 256)])
        best = (-1.0, 0.0)
        for wt in TRANSITION_WEIGHTS:
            blended = eas + wt * tra
            ndcg = evaluate(lambda h, b=blended, c=[0]: _rows(b, c, len(h)), hist,
                            data.valid_targets[users], data.n_items).ndcg
            best = max(best, (ndcg, wt))
        ndcg, wt = best
        self.blend = EaseBlend(ease, 1.0, ndcg, transitions if wt > 0 else None, wt)
        self._adopt(data.item_ids, data.catalog_version, data.item_counts())
        self.report = {"valid_ndcg@10": ndcg, "ease_lambda": ease.lam, "ease_decay": ease.decay,
                       "transition_weight": wt}
        return dict(self.report)

    def _adopt(self, item_ids: Sequence[str], catalog_version: str, counts: np.ndarray) -> None:
        self._set_vocabulary(item_ids)
        self.catalog_version = catalog_version
        self._counts = np.asarray(counts, dtype=np.int64)
        self._prior = np.log1p(self._counts).astype(np.float32)

    # --- scoring ---------------------------------------------------------
    def score(self, users: Sequence[EncodedUser]) -> np.ndarray:
        self._require_fitted()
        assert self.blend is not None
        out = np.empty((len(users), len(self.item_ids)), dtype=np.float32)
        rows = [r for r, u in enumerate(users) if len(u.items)]
        if rows:
            zeros = np.zeros((len(rows), len(self.item_ids)), np.float32)
            out[rows] = self.blend.blend(zeros, [users[r].items for r in rows])
        for r, u in enumerate(users):
            if not len(u.items):
                out[r] = self._prior
        return out

    def score_subset(self, user: EncodedUser, idx: np.ndarray) -> np.ndarray:
        """One user, candidates `idx` only (sparse work, no full-catalog scores)."""
        self._require_fitted()
        assert self.blend is not None
        if not len(user.items):
            return self._prior[idx].copy()
        return self.blend.blend_subset(np.zeros(len(idx), np.float32), 1.0, user.items, idx)

    # --- storage ---------------------------------------------------------
    def save(self, path: Path | str) -> None:
        """One npz file (arrays, and JSON for the plain values), atomically; read back without torch."""
        self._require_fitted()
        assert self.blend is not None
        arrays: dict[str, np.ndarray] = {"item_counts": self._counts}
        meta = {"ranker": self.name, "format": FORMAT, "catalog_version": self.catalog_version,
                "item_ids": list(self.item_ids), "blend": flatten_state("blend", self.blend.state(), arrays),
                "report": {k: float(v) for k, v in self.report.items()}}
        arrays["meta"] = np.array(json.dumps(meta))
        atomic_write(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> CountBlendRanker:
        """Raises `CheckpointError` (missing or damaged file) / `StateMismatchError` (other catalog)."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"ranker file {path} does not exist; `recassist demo` fits one")
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files if k in ("meta", "item_counts") or k.startswith("blend/")}
            ck = json.loads(str(arrays.pop("meta")))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise CheckpointError(f"{path} is corrupt or not a ranker file ({type(e).__name__}); delete it "
                                  "and start again") from None
        if not isinstance(ck, dict) or ck.get("ranker") != cls.name or ck.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not a {cls.name} ranker file (format {FORMAT})")
        check_catalog(ck["catalog_version"], catalog_version, path)
        r = cls()
        r._adopt(ck["item_ids"], ck["catalog_version"], arrays["item_counts"])
        r.blend = EaseBlend.from_state(unflatten_state(ck["blend"], arrays), r.item_ids)
        r.report = dict(ck.get("report", {}))
        return r


def _rows(matrix: np.ndarray, cursor: list[int], n: int) -> np.ndarray:
    """The next `n` rows of `matrix` (evaluate() asks for users in order, in batches)."""
    out = matrix[cursor[0]:cursor[0] + n]
    cursor[0] += n
    return out
