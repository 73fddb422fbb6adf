"""Count models blended into the sequence ranker:
`score = seq / std(seq) + weight * ease / std(ease) + transition_weight * transitions / std(transitions)`.

The transformer ranks by what tends to come next; EASE (Steck 2019, `ranking.ease`) by which
items co-occur with the history, here weighted by recency (decay picked on validation with lambda);
transitions (`ranking.transitions`) by what users picked right after the same items. They err
differently, and small shares of the count models lift the sequence model: on the ml-latest-small
leave-one-out split, the three ensembles of `bench/bench_ranking.py` (seeds 0-2) went from test NDCG@10
0.0738 mean with plain EASE at a picked weight to 0.0849 with both parts. Both weights are picked
together on validation.

Each part is divided by its standard deviation over all items for that user, so a weight means
the same for every user. Ranking only needs the scale (adding a constant per user changes no order).
Scoring a few hundred candidates does not compute all items' scores for that: the spreads come from
precomputed moments (`Moments`) and a sparse row, exactly what the full-catalog path computes, up to
rounding. The count models have no text, so brand-new items get no evidence (0) from them and rank by
the sequence part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from recassist.ranking.data import InteractionData, recency_weights
from recassist.ranking.ease import RECENCY_DECAYS, EASERanker
from recassist.ranking.metrics import evaluate
from recassist.ranking.storage import as_array
from recassist.ranking.transitions import TransitionModel

#: Blend weights tried on validation (0 = no EASE); the curve is sharp, so the grid is fine near 0.05.
WEIGHTS = (0.0, 0.02, 0.035, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3)
TRANSITION_WEIGHTS = (0.0, 0.02, 0.035, 0.05, 0.07, 0.1)


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
    """A fitted EASE and its blend weight, and optionally item transitions (`ranking.transitions`) and
    theirs: score = seq / std + weight * EASE / std + transition_weight * transitions / std."""

    ease: EASERanker
    weight: float
    valid_ndcg: float | None = None  # validation NDCG@10 of the blend, when fitted here
    transitions: TransitionModel | None = None
    transition_weight: float = 0.0
    _subset: _EaseSubset = field(init=False, repr=False)

    @classmethod
    def fit(cls, data: InteractionData, sequence_scores) -> EaseBlend | None:
        """EASE and transitions on `data` (lambda and recency decays picked on validation), and the
        pair of weights whose blend with `sequence_scores(histories) -> [b, n]` scores best on
        validation. None without validation targets, or when no weight above 0 helps."""
        if data.valid_targets is None or not bool((data.valid_targets >= 0).any()):
            return None
        ease = EASERanker(decays=RECENCY_DECAYS)
        ease.fit(data)
        transitions = TransitionModel.fit(data)
        users = np.flatnonzero(data.valid_targets >= 0)
        hist = [data.sequences[u] for u in users]

        def part(fn):
            return np.concatenate([scaled(fn(hist[i:i + 256])) for i in range(0, len(hist), 256)])

        seq, eas, tra = part(sequence_scores), part(ease._score_histories), part(transitions.scores)
        best = (-1.0, 0.0, 0.0)
        for w in WEIGHTS:
            for wt in TRANSITION_WEIGHTS:
                blended = seq + w * eas + wt * tra
                ndcg = evaluate(lambda h, b=blended, c=[0]: _rows(b, c, len(h)), hist,
                                data.valid_targets[users], data.n_items).ndcg
                best = max(best, (ndcg, w, wt))
        ndcg, w, wt = best
        if w == 0 and wt == 0:
            return None
        return cls(ease, w, ndcg, transitions if wt > 0 else None, wt)

    def __post_init__(self) -> None:
        # Built now, not on the first request (~0.4 s for ml-latest-small).
        self._subset = _EaseSubset(self.ease)

    def scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.ease._score_histories(histories)

    def blend(self, sequence_scores: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        """[b, n] sequence scores over all items -> blended scores [b, n]."""
        out = scaled(sequence_scores) + self.weight * scaled(self.scores(histories))
        if self.transitions is not None:
            out += self.transition_weight * scaled(self.transitions.scores(histories))
        return out.astype(np.float32)

    def blend_subset(self, sequence_scores: np.ndarray, sequence_std: float, history: np.ndarray,
                     idx: np.ndarray) -> np.ndarray:
        """`blend` for one user and candidates `idx` only: `sequence_scores` [len(idx)] and their
        spread over all items in, blended scores [len(idx)] out (equal to `blend(...)[0, idx]`)."""
        out = sequence_scores / (sequence_std if sequence_std > 0 else 1.0)
        if self.weight > 0:
            ease, ease_std = self._subset.scores(history, idx)
            out = out + self.weight * ease / (ease_std if ease_std > 0 else 1.0)
        if self.transitions is not None:
            tra, tra_std = self.transitions.subset(history, idx)
            out = out + self.transition_weight * tra / (tra_std if tra_std > 0 else 1.0)
        return out.astype(np.float32)

    # --- checkpoint ------------------------------------------------------
    def state(self) -> dict:
        """Plain values and tensors for the torch checkpoint (EASE is rebuilt from its training matrix)."""
        import torch

        x = self.ease._x
        assert x is not None
        return {"lam": float(self.ease.lam or 0.0), "decay": self.ease.decay, "weight": self.weight,
                "transitions": self.transitions.state() if self.transitions is not None else None,
                "transition_weight": self.transition_weight,
                "x_indptr": torch.as_tensor(x.indptr.astype(np.int64)),
                "x_indices": torch.as_tensor(x.indices.astype(np.int64)),
                "x_shape": list(x.shape)}

    @classmethod
    def from_state(cls, state: dict, item_ids: list[str]) -> EaseBlend:
        ease = EASERanker(lam=float(state["lam"]), decay=float(state.get("decay", 1.0)))  # format 2: no decay
        ease._set_vocabulary(item_ids)
        ind = as_array(state["x_indices"])
        x = sp.csr_matrix((np.ones(ind.size, np.float32), ind, as_array(state["x_indptr"])),
                          shape=tuple(state["x_shape"]))
        ease._factor(x, float(state["lam"]))
        tra = state.get("transitions")  # absent in checkpoints from before transitions
        transitions = TransitionModel.from_state(tra) if tra else None
        return cls(ease, float(state["weight"]), transitions=transitions,
                   transition_weight=float(state.get("transition_weight", 0.0)))


def _rows(matrix: np.ndarray, cursor: list[int], n: int) -> np.ndarray:
    """The next `n` rows of `matrix` (evaluate() asks for users in order, in batches)."""
    out = matrix[cursor[0]:cursor[0] + n].copy()
    cursor[0] += n
    return out


class _EaseSubset:
    """EASE scores of a few candidates and their spread over all items, for one history.

    In EASE's Woodbury form (`ranking.ease`), item j scores s_j = x . m_j + h_j d_j, where x = X h
    sums, per training user, the (recency) weights of the history items they share, m_j = M[:, j] / (lam P_jj) and
    d_j = 1 - 1 / (lam P_jj) for the history's own items (h_j their weight). So candidates need only their
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
        hist, h = _weighted_items(np.asarray(history, dtype=np.int64), self.ease.decay)
        x = np.asarray(self.xt[hist].T @ h, dtype=np.float32).ravel()  # [U]
        s1, s2 = self.moments.sums(x)
        e_hist = (self.m_rows[hist] @ x).astype(np.float64)
        dh = self.d[hist] * h  # the history items' own term h_j d_j
        s1 += float(dh.sum())
        s2 += float((2 * e_hist * dh + dh**2).sum())
        out = self.m_rows[idx] @ x
        pos = np.searchsorted(hist, idx)
        in_hist = (pos < hist.size) & (hist[np.minimum(pos, hist.size - 1)] == idx)
        if in_hist.any():
            out[in_hist] += dh[pos[in_hist]].astype(np.float32)
        return out, std_from_sums(self.moments.n, s1, s2)


def _weighted_items(history: np.ndarray, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """Distinct history items (sorted) and their weights (float64): the recency weight of each item's
    newest occurrence, as `ranking.data.interaction_matrix` builds the row."""
    if history.size == 0:
        return history, np.zeros(0)
    w = recency_weights(history.size, decay).astype(np.float64)
    order = np.lexsort((-w, history))  # per item, the newest occurrence first
    items, first = np.unique(history[order], return_index=True)
    return items, w[order][first]
