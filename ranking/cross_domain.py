"""Rank one catalog's items for a taste learned in another, through the shared aspect vocabulary.

No user appears in two catalogs (MovieLens and goodbooks share nobody), so a taste crosses
domains through content: the liked items' shared aspects (`foundation.vocabulary`), weighted by
the share of liked items carrying each, score the target catalog's items by how much of that
weight they carry. Rarer aspects count more (idf over the target catalog), an item's score is
divided by the square root of its aspect count (a book shelved under ten genres does not win by
breadth alone), and a small popularity prior breaks ties towards items people know.

The weights below are fixed by design, not fitted: there is no cross-domain training signal here,
and the transfer benchmark (bench/bench_cross_domain.py) must not choose them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.vocabulary import SHARED_ASPECTS, item_aspects

POPULARITY_WEIGHT = 0.1  # at most a tenth of one fully matched aspect: a tie-breaker, never a driver


@dataclass(frozen=True)
class AspectMatch:
    """Why a target item was chosen: the shared aspects it carries and the source items that carry them."""

    item_id: str
    score: float
    aspects: tuple[str, ...]


def taste_from_items(items: Iterable[Item]) -> dict[str, float]:
    """Shared aspect -> share (0-1] of `items` carrying it; empty when no item maps to any aspect."""
    items = list(items)
    counts: dict[str, int] = {}
    for it in items:
        for a in item_aspects(it):
            counts[a] = counts.get(a, 0) + 1
    return {a: c / len(items) for a, c in counts.items()} if items else {}


class AspectTransfer:
    """Scores every item of `catalog` for a shared-aspect taste. Build once per catalog (~0.1 s per 10^4 items)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.item_ids = list(catalog.item_ids)
        self._row = {item_id: i for i, item_id in enumerate(self.item_ids)}
        self._col = {a: j for j, a in enumerate(SHARED_ASPECTS)}
        m = np.zeros((len(self.item_ids), len(SHARED_ASPECTS)), dtype=np.float32)
        for i, item_id in enumerate(self.item_ids):
            for a in item_aspects(catalog.items[item_id]):
                m[i, self._col[a]] = 1.0
        df = m.sum(0)
        self.idf = np.log((1 + len(self.item_ids)) / (1 + df)).astype(np.float32) + 1.0
        n_aspects = m.sum(1)
        self._m = m / np.sqrt(np.maximum(n_aspects, 1.0))[:, None]
        self._has = m.astype(bool)
        pop = np.array([catalog.popularity.get(i, 0) for i in self.item_ids], dtype=np.float32)
        self._prior = (np.log1p(pop) / max(math.log1p(float(pop.max(initial=0.0))), 1e-9)).astype(np.float32)

    def aspect_counts(self) -> dict[str, int]:
        """Items carrying each shared aspect in this catalog."""
        return {a: int(self._has[:, j].sum()) for a, j in self._col.items()}

    def score(self, taste: Mapping[str, float]) -> np.ndarray:
        """float32 [n_items] in `item_ids` order; aspects outside the shared vocabulary are ignored."""
        w = np.zeros(len(SHARED_ASPECTS), dtype=np.float32)
        for a, v in taste.items():
            if a in self._col:
                w[self._col[a]] = v
        return self._m @ (w * self.idf) + POPULARITY_WEIGHT * self._prior

    def recommend(self, taste: Mapping[str, float], n: int = 10, exclude: Sequence[str] = ()) -> list[AspectMatch]:
        """The `n` best items for `taste`, best first, with the liked aspects each one carries."""
        scores = self.score(taste)
        if exclude:
            drop = [self._row[i] for i in exclude if i in self._row]
            scores[drop] = -np.inf
        top = np.argsort(-scores, kind="stable")[:n]
        liked = [a for a in taste if a in self._col]
        return [AspectMatch(self.item_ids[i], float(scores[i]),
                            tuple(a for a in liked if self._has[i, self._col[a]])) for i in top]

    def carries(self, item_id: str, aspect: str) -> bool:
        """Whether the item carries the shared aspect."""
        return aspect in self._col and bool(self._has[self._row[item_id], self._col[aspect]])
