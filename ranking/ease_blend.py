"""EASE blended into the sequence ranker: `score = seq / std(seq) + weight * ease / std(ease)`.

The transformer ranks by what tends to come next; EASE (Steck 2019, `ranking.ease`) by which
items co-occur with the whole history. They err differently, and a small share of EASE lifts the
sequence model: on the ml-latest-small leave-one-out split, three-network ensembles went from test
NDCG@10 0.0715-0.0770 to 0.0762-0.0818 with weight 0.05 (picked on validation, where it also peaked).

Each part is divided by its standard deviation over all items for that user, so the weight means
the same for every user. Ranking only needs the scale (adding a constant per user changes no order).
Scoring a few hundred candidates does not compute all items' scores for that: the spread comes from
precomputed moments (`Moments`), exactly what the full-catalog path computes, up to rounding.
EASE has no text, so brand-new items get no EASE evidence (0) and rank by the sequence part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

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


class Moments:
    """Sum and spread over all items of linear scores `s = items @ u` without computing them:
    sum(s) = u . colsum(items), sum(s^2) = u' (items' items) u (float64, from a [d, d] Gram matrix)."""

    def __init__(self, items: np.ndarray) -> None:
        items = np.asarray(items, dtype=np.float64)
        self.n = items.shape[0]
        self.colsum = items.sum(0)
        self.gram = items.T @ items

    def sums(self, u: np.ndarray) -> tuple[float, float]:
        u = np.asarray(u, dtype=np.float64)
        return float(u @ self.colsum), float(u @ self.gram @ u)


def std_from_sums(n: int, s1: float, s2: float) -> float:
    """Population standard deviation of n values from their sum and sum of squares."""
    return math.sqrt(max(s2 / n - (s1 / n) ** 2, 0.0))


@dataclass
class EaseBlend:
    """A fitted EASE and its blend weight; `scores(histories)` is EASE over all items, float32 [b, n]."""

    ease: EASERanker
    weight: float
    valid_ndcg: float | None = None  # validation NDCG@10 of the blend, when fitted here
    _subset: _EaseSubset = field(init=False, repr=False)

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

    def __post_init__(self) -> None:
        # Built now, not on the first request (~0.4 s for ml-latest-small).
        self._subset = _EaseSubset(self.ease)

    def scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.ease._score_histories(histories)

    def blend(self, sequence_scores: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        """[b, n] sequence scores over all items -> blended scores [b, n]."""
        return (scaled(sequence_scores) + self.weight * scaled(self.scores(histories))).astype(np.float32)

    def blend_subset(self, sequence_scores: np.ndarray, sequence_std: float, history: np.ndarray,
                     idx: np.ndarray) -> np.ndarray:
        """`blend` for one user and candidates `idx` only: `sequence_scores` [len(idx)] and their
        spread over all items in, blended scores [len(idx)] out (equal to `blend(...)[0, idx]`)."""
        ease, ease_std = self._subset.scores(history, idx)
        seq = sequence_scores / (sequence_std if sequence_std > 0 else 1.0)
        return (seq + self.weight * ease / (ease_std if ease_std > 0 else 1.0)).astype(np.float32)

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


class _EaseSubset:
    """EASE scores of a few candidates and their spread over all items, for one history.

    In EASE's Woodbury form (`ranking.ease`), item j scores s_j = x . m_j + h_j d_j, where x = X h
    counts, per training user, the history items they share, m_j = M[:, j] / (lam P_jj) and
    d_j = 1 - 1 / (lam P_jj) for the history's own items (h_j = 1). So candidates need only their
    m_j rows, and the spread over all items the moments of m (a users x users matrix), plus the
    history items' corrections. Reading M whole (users x items floats) per request cost ~2 ms.
    In the direct form (more users than items) it scores all items and slices.
    """

    def __init__(self, ease: EASERanker) -> None:
        self.ease = ease
        self.woodbury = ease._m is not None
        if not self.woodbury:
            return
        assert ease._x is not None and ease._diag_p is not None and ease.lam
        scale = 1.0 / (ease.lam * ease._diag_p.astype(np.float64))  # 1 / (lam P_jj)
        self.m_rows = np.ascontiguousarray((ease._m * scale[None, :].astype(np.float32)).T)  # [I, U]
        self.d = (1.0 - scale).astype(np.float64)
        self.xt = ease._x.T.tocsr()  # item -> users who interacted with it
        self.moments = Moments(self.m_rows)

    def scores(self, history: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, float]:
        if not self.woodbury:
            full = self.ease._score_histories([history])[0]
            return full[idx], float(full.std())
        hist = np.unique(np.asarray(history, dtype=np.int64))
        x = np.asarray(self.xt[hist].sum(0), dtype=np.float32).ravel()  # [U]
        s1, s2 = self.moments.sums(x)
        e_hist = (self.m_rows[hist] @ x).astype(np.float64)
        d_hist = self.d[hist]
        s1 += float(d_hist.sum())
        s2 += float((2 * e_hist * d_hist + d_hist**2).sum())
        out = self.m_rows[idx] @ x
        in_hist = np.isin(idx, hist)
        if in_hist.any():
            out[in_hist] += self.d[idx[in_hist]].astype(np.float32)
        return out, std_from_sums(self.moments.n, s1, s2)
