"""Item-to-item transitions: which items users went on to within their next few events after item i.

`T[i, j]` sums 1 / k over training histories where j came k <= `WINDOW` events after i; each row
is divided by the square root of its total, so a very frequent item does not drown the others. A
user scores `h @ T`, where h weighs the history by recency (`ranking.data.interaction_matrix`,
decay picked on validation): what tends to follow what they did last.

Order is what EASE cannot see, and on ml-latest-small it matters (people rate in sessions): alone,
this scores test NDCG@10 0.073 on the leave-one-out split (EASE 0.045, one transformer 0.069), and
a small share of it lifts the blend (`ranking.ease_blend`). Items never seen in training score 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from recassist.ranking.data import InteractionData, interaction_matrix
from recassist.ranking.metrics import validation_ndcg
from recassist.ranking.storage import as_array

WINDOW = 10  # events after item i that count as following it
DECAYS = (0.5, 0.6, 0.7, 0.8)  # history recency decays tried on validation


@dataclass
class TransitionModel:
    """`matrix`: float32 CSR [n_items, n_items] (row i: what follows item i); `decay`: history recency."""

    matrix: sp.csr_matrix
    decay: float
    valid_ndcg: float | None = None  # validation NDCG@10 alone, when fitted here

    @classmethod
    def fit(cls, data: InteractionData, decays: Sequence[float] = DECAYS) -> TransitionModel:
        """Count transitions in `data.sequences`; the decay is picked on validation (if it has targets)."""
        model = cls(transition_matrix(data.sequences, data.n_items), decays[0])
        if data.valid_targets is None or not bool((data.valid_targets >= 0).any()) or len(decays) == 1:
            return model
        best = (-1.0, decays[0])
        for decay in decays:
            model.decay = decay
            best = max(best, (validation_ndcg(model.scores, data.sequences, data.valid_targets, data.n_items),
                              decay))
        model.valid_ndcg, model.decay = best
        return model

    def scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """float32 [len(histories), n_items]."""
        h = interaction_matrix(histories, self.matrix.shape[0], self.decay)
        return np.asarray((h @ self.matrix).toarray(), dtype=np.float32)

    def subset(self, history: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, float]:
        """One history: scores of candidates `idx` and the standard deviation over all items (sparse
        work only: the row has a few thousand non-zeros at most)."""
        row = interaction_matrix([np.asarray(history, dtype=np.int64)], self.matrix.shape[0], self.decay)
        s = (row @ self.matrix).tocsr()
        n = s.shape[1]
        mean = float(s.data.sum()) / n
        var = max(float((s.data.astype(np.float64) ** 2).sum()) / n - mean**2, 0.0)
        return s[:, idx].toarray().ravel().astype(np.float32), var**0.5

    # --- checkpoint ------------------------------------------------------
    def state(self) -> dict:
        import torch

        m = self.matrix
        return {"decay": self.decay, "indptr": torch.as_tensor(m.indptr.astype(np.int64)),
                "indices": torch.as_tensor(m.indices.astype(np.int64)),
                "data": torch.as_tensor(m.data.astype(np.float32)), "shape": list(m.shape)}

    @classmethod
    def from_state(cls, state: dict) -> TransitionModel:
        m = sp.csr_matrix((as_array(state["data"]), as_array(state["indices"]), as_array(state["indptr"])),
                          shape=tuple(state["shape"]))
        return cls(m, float(state["decay"]))


def transition_matrix(sequences: Sequence[np.ndarray], n_items: int, window: int = WINDOW) -> sp.csr_matrix:
    """float32 CSR [n_items, n_items]: T[i, j] = sum of 1/k over j coming k <= window events after i,
    rows divided by the square root of their totals (of 1 at least)."""
    rows, cols, vals = [], [], []
    for s in sequences:
        s = np.asarray(s, dtype=np.int64)
        for k in range(1, min(window, len(s) - 1) + 1):
            rows.append(s[:-k])
            cols.append(s[k:])
            vals.append(np.full(len(s) - k, 1.0 / k, np.float32))
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    t = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n_items, n_items), dtype=np.float32)  # duplicates are summed
    totals = np.asarray(t.sum(1)).ravel()
    return (sp.diags((1.0 / np.sqrt(np.maximum(totals, 1.0))).astype(np.float32)) @ t).tocsr()
