"""EASE blended into the sequence ranker: `score = seq / std(seq) + weight * ease / std(ease)`.

The transformer ranks by what tends to come next; EASE (Steck 2019, `ranking.ease`) by which
items co-occur with the whole history. They err differently, and a small share of EASE lifts the
sequence model: on the ml-latest-small leave-one-out split, three-network ensembles went from test
NDCG@10 0.0715-0.0770 to 0.0762-0.0818 with weight 0.05 (picked on validation, where it also peaked).

Each part is divided by its standard deviation over all items for that user, so the weight means
the same for every user. Ranking only needs the scale (adding a constant per user changes no order),
and computing both parts over the whole catalog keeps `score` and `score_subset` identical. EASE
has no text, so brand-new items get no EASE evidence (0) and rank by the sequence part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ranking.data import InteractionData
from ranking.ease import EASERanker
from ranking.metrics import evaluate

#: Blend weights tried on validation (0 = no EASE); the curve is sharp, so the grid is fine near 0.05.
WEIGHTS = (0.0, 0.02, 0.035, 0.05, 0.07, 0.1, 0.15)


def scaled(scores: np.ndarray) -> np.ndarray:
    """Rows divided by their standard deviation (rows without spread are left as they are)."""
    sd = scores.std(axis=-1, keepdims=True)
    return scores / np.where(sd > 0, sd, 1.0)


@dataclass
class EaseBlend:
    """A fitted EASE and its blend weight; `scores(histories)` is EASE over all items, float32 [b, n]."""

    ease: EASERanker
    weight: float
    valid_ndcg: float | None = None  # validation NDCG@10 of the blend, when fitted here

    @classmethod
    def fit(cls, data: InteractionData, sequence_scores) -> EaseBlend | None:
        """EASE on `data` (its lambda picked on validation), and the weight whose blend with
        `sequence_scores(histories) -> [b, n]` scores best on validation. None without validation
        targets, or when no weight above 0 helps."""
        if data.valid_targets is None or not bool((data.valid_targets >= 0).any()):
            return None
        ease = EASERanker()
        ease.fit(data)
        users = np.flatnonzero(data.valid_targets >= 0)
        hist = [data.sequences[u] for u in users]
        seq = np.concatenate([scaled(sequence_scores(hist[i:i + 256])) for i in range(0, len(hist), 256)])
        eas = np.concatenate([scaled(ease._score_histories(hist[i:i + 256])) for i in range(0, len(hist), 256)])
        best = (-1.0, 0.0)
        for w in WEIGHTS:
            blended = seq + w * eas
            ndcg = evaluate(lambda h, b=blended, c=[0]: _rows(b, c, len(h)), hist,
                            data.valid_targets[users], data.n_items).ndcg
            best = max(best, (ndcg, w))
        return cls(ease, best[1], best[0]) if best[1] > 0 else None

    def scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.ease._score_histories(histories)

    def blend(self, sequence_scores: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        """[b, n] sequence scores over all items -> blended scores [b, n]."""
        return (scaled(sequence_scores) + self.weight * scaled(self.scores(histories))).astype(np.float32)

    # --- checkpoint ------------------------------------------------------
    def state(self) -> dict:
        """Plain values and tensors for the torch checkpoint (EASE is rebuilt from its training matrix)."""
        x = self.ease._x
        assert x is not None
        return {"lam": float(self.ease.lam or 0.0), "weight": self.weight,
                "x_indptr": torch.as_tensor(x.indptr.astype(np.int64)),
                "x_indices": torch.as_tensor(x.indices.astype(np.int64)),
                "x_shape": list(x.shape)}

    @classmethod
    def from_state(cls, state: dict, item_ids: list[str]) -> EaseBlend:
        ease = EASERanker(lam=float(state["lam"]))
        ease._set_vocabulary(item_ids)
        ind = state["x_indices"].numpy()
        x = sp.csr_matrix((np.ones(ind.size, np.float32), ind, state["x_indptr"].numpy()),
                          shape=tuple(state["x_shape"]))
        ease._factor(x, float(state["lam"]))
        return cls(ease, float(state["weight"]))


def _rows(matrix: np.ndarray, cursor: list[int], n: int) -> np.ndarray:
    """The next `n` rows of `matrix` (evaluate() asks for users in order, in batches)."""
    out = matrix[cursor[0]:cursor[0] + n].copy()
    cursor[0] += n
    return out
