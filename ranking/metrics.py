"""Full-ranking metrics: the target's rank among all items, seen items excluded.

Ties count against the target (an item scoring the same is ranked above it), so a
ranker that gives everything one score cannot look good by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

ScoreFn = Callable[[Sequence[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Metrics:
    """Means over evaluated users; `coverage` = share of the catalog appearing in some top-k."""

    ndcg: float
    hr: float
    mrr: float
    coverage: float
    users: int
    k: int = 10

    def as_dict(self) -> dict[str, float]:
        k = self.k
        return {f"ndcg@{k}": self.ndcg, f"hr@{k}": self.hr, "mrr": self.mrr, "coverage": self.coverage}


def target_ranks(
    scores: np.ndarray, targets: np.ndarray, histories: Sequence[np.ndarray], k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """0-based ranks int64 [m] of `targets` in `scores` [m, n_items], and top-k indices [m, k].

    History items are excluded (set to -inf) unless the item is the target itself.
    `scores` is modified in place.
    """
    scores = np.nan_to_num(scores, nan=-np.inf, copy=False)
    rows = np.arange(len(targets))
    t_scores = scores[rows, targets].copy()
    for r, h in enumerate(histories):
        scores[r, h] = -np.inf
    # A target in its own history (repeat consumption) is still ranked, like any other item.
    scores[rows, targets] = t_scores
    ranks = (scores > t_scores[:, None]).sum(1) + (scores == t_scores[:, None]).sum(1) - 1
    kk = min(k, scores.shape[1])
    top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    return ranks.astype(np.int64), top


def evaluate(
    score_fn: ScoreFn, histories: Sequence[np.ndarray], targets: np.ndarray, n_items: int,
    k: int = 10, batch_size: int = 256,
) -> Metrics:
    """Full ranking for users with `targets >= 0`: NDCG@k, HR@k, MRR (untruncated), coverage@k.

    `score_fn(histories_batch) -> float [b, n_items]` scores each user given their history.
    """
    users = np.flatnonzero(np.asarray(targets) >= 0)
    if users.size == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0, 0, k)
    ranks, recommended = [], np.zeros(n_items, dtype=bool)
    for start in range(0, users.size, batch_size):
        b = users[start:start + batch_size]
        hist = [histories[u] for u in b]
        scores = np.array(score_fn(hist), dtype=np.float32)
        r, top = target_ranks(scores, np.asarray(targets)[b], hist, k)
        ranks.append(r)
        recommended[top.ravel()] = True
    rk = np.concatenate(ranks)
    hit = rk < k
    ndcg = np.where(hit, 1.0 / np.log2(rk + 2.0), 0.0)
    return Metrics(
        ndcg=float(ndcg.mean()), hr=float(hit.mean()), mrr=float((1.0 / (rk + 1.0)).mean()),
        coverage=float(recommended.mean()), users=int(users.size), k=k,
    )


def validation_ndcg(score_fn: ScoreFn, sequences: Sequence[np.ndarray], valid_targets: np.ndarray | None,
                    n_items: int, k: int = 10) -> float:
    """NDCG@k of the validation targets given the training sequences (0.0 without targets)."""
    if valid_targets is None:
        return 0.0
    return evaluate(score_fn, sequences, valid_targets, n_items, k).ndcg
