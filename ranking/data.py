"""Interactions as per-user index sequences, and the leave-one-out split every ranker is judged on.

Rating-agnostic: every interaction counts, whatever its value. Per user, events are
ordered by timestamp; ties keep the order of the catalog's interaction list (the file
order), so the split is deterministic. A repeated (user, item) keeps its last event.
A catalog without timestamps (`Catalog.timed` False, e.g. goodbooks, whose ratings file is
sorted by book) gets a seeded random order per user instead, so the held-out events are
random picks rather than the user's least popular books.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from recassist.foundation.catalog import Catalog

MIN_EVAL_LENGTH = 3  # a user needs one training event plus the validation and test ones
UNTIMED_ORDER_SEED = 0


@dataclass(frozen=True)
class InteractionData:
    """What `Ranker.fit` trains on.

    `item_ids`: the vocabulary (str, len n_items); every index below points into it.
    `sequences`: per user, int64 [L_u] training item indices, oldest first.
    `valid_targets`: int64 [n_users], the validation item per user or -1 (no validation).
    `item_text`: float32 [n_items, d] L2-normalised text embeddings, or None.
    `catalog_version`: the catalog's content hash, recorded in checkpoints.
    `text_model`: name of the embedder that made `item_text` (checked when aspects are embedded later).
    """

    item_ids: list[str]
    user_ids: list[str]
    sequences: list[np.ndarray]
    valid_targets: np.ndarray | None = None
    item_text: np.ndarray | None = None
    catalog_version: str = ""
    text_model: str = ""

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def item_counts(self) -> np.ndarray:
        """int64 [n_items]: training interactions per item."""
        flat = np.concatenate(self.sequences) if self.sequences else np.zeros(0, np.int64)
        return np.bincount(flat, minlength=self.n_items).astype(np.int64)

    def with_text(self, item_text: np.ndarray | None, text_model: str = "") -> InteractionData:
        """A copy with item text vectors float32 [n_items, d] (rows in `item_ids` order)."""
        if item_text is not None and item_text.shape[0] != self.n_items:
            raise ValueError(f"item_text has {item_text.shape[0]} rows for {self.n_items} items")
        return replace(self, item_text=item_text, text_model=text_model)


@dataclass(frozen=True)
class Split:
    """Leave-one-out by time. `train` holds the training part and the validation targets.

    `test_histories[u]` = training sequence + validation item (what the model sees at
    test time); `test_targets[u]` is the last item, or -1 for users too short to evaluate.
    """

    train: InteractionData
    test_histories: list[np.ndarray]
    test_targets: np.ndarray
    full_sequences: list[np.ndarray] = field(repr=False, default_factory=list)

    def valid_users(self) -> np.ndarray:
        assert self.train.valid_targets is not None
        return np.flatnonzero(self.train.valid_targets >= 0)

    def test_users(self) -> np.ndarray:
        return np.flatnonzero(self.test_targets >= 0)


def user_sequences(catalog: Catalog, item_ids: Sequence[str]) -> tuple[list[str], list[np.ndarray]]:
    """Per-user int64 index sequences ordered by (timestamp, position in the interaction list).

    Users come in order of first appearance. Interactions with items outside `item_ids` are dropped.
    An untimed catalog orders each user's events by a random permutation (seed `UNTIMED_ORDER_SEED`).
    """
    index = {i: j for j, i in enumerate(item_ids)}
    per_user: dict[str, list[tuple[int, int, int]]] = {}
    for pos, x in enumerate(catalog.interactions):
        j = index.get(x.item_id)
        if j is not None:
            per_user.setdefault(x.user_id, []).append((x.timestamp, pos, j))
    rng = None if catalog.timed else np.random.default_rng(UNTIMED_ORDER_SEED)
    users, seqs = [], []
    for user, events in per_user.items():
        if rng is None:
            events.sort()
        else:
            events = [events[k] for k in rng.permutation(len(events))]
        last: dict[int, int] = {}
        for k, (_, _, j) in enumerate(events):
            last[j] = k  # repeated item: its last event wins
        order = sorted(last.values())
        seqs.append(np.array([events[k][2] for k in order], dtype=np.int64))
        users.append(user)
    return users, seqs


def leave_one_out(catalog: Catalog, item_text: np.ndarray | None = None) -> Split:
    """Last event per user = test, the one before = validation, the rest = training.

    Users with fewer than `MIN_EVAL_LENGTH` events train on everything and are not evaluated.
    The vocabulary is every catalog item, so items without interactions still get a slot.
    """
    item_ids = list(catalog.item_ids)
    users, full = user_sequences(catalog, item_ids)
    train_seqs, test_hist = [], []
    valid_t = np.full(len(users), -1, dtype=np.int64)
    test_t = np.full(len(users), -1, dtype=np.int64)
    for u, seq in enumerate(full):
        if len(seq) >= MIN_EVAL_LENGTH:
            train_seqs.append(seq[:-2])
            test_hist.append(seq[:-1])
            valid_t[u], test_t[u] = seq[-2], seq[-1]
        else:
            train_seqs.append(seq)
            test_hist.append(seq)
    train = InteractionData(item_ids, users, train_seqs, valid_t, item_text, catalog.version)
    return Split(train, test_hist, test_t, full)


def all_for_training(catalog: Catalog, item_text: np.ndarray | None = None) -> InteractionData:
    """Every event for training, the last event per user kept as validation target.

    What `recassist train` fits the served model on: early stopping still needs a
    held-out event, and the most recent one is the best proxy for tomorrow.
    """
    split = leave_one_out(catalog, item_text)
    return replace(split.train, sequences=split.test_histories, valid_targets=split.test_targets)


def interaction_matrix(sequences: Sequence[np.ndarray], n_items: int, decay: float = 1.0) -> sp.csr_matrix:
    """Float32 CSR [n_users, n_items]: 1 where the user interacted with the item (`decay` = 1), or
    with `decay` < 1 the recency weight `decay ** age` of the item's newest occurrence, where age
    counts the history's later events (the newest item weighs 1, the one before `decay`, ...)."""
    rows = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
    cols = np.concatenate(sequences) if sequences else np.zeros(0, np.int64)
    if decay == 1.0:
        x = sp.csr_matrix((np.ones(cols.size, np.float32), (rows, cols)), shape=(len(sequences), n_items))
        x.sum_duplicates()
        x.data[:] = 1.0
        return x
    weights = (np.concatenate([recency_weights(len(s), decay) for s in sequences]) if sequences
               else np.zeros(0, np.float32))
    # A repeated item keeps its newest (largest) weight: duplicates are combined by max, not summed.
    return _max_duplicates(rows, cols, weights, (len(sequences), n_items))


def recency_weights(length: int, decay: float) -> np.ndarray:
    """float32 [length]: `decay ** age` per position of a history, oldest first (the newest weighs 1)."""
    return (decay ** np.arange(length - 1, -1, -1, dtype=np.float64)).astype(np.float32)


def _max_duplicates(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]
                    ) -> sp.csr_matrix:
    order = np.lexsort((-weights, cols, rows))  # per (row, col), the largest weight first
    r, c, w = rows[order], cols[order], weights[order]
    first = np.ones(r.size, bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return sp.csr_matrix((w[first].astype(np.float32), (r[first], c[first])), shape=shape)

