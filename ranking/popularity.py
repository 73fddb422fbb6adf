"""Popularity: every user gets the most-interacted items. The floor every other ranker must beat."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from recassist.ranking.base import EncodedUser, Ranker, register
from recassist.ranking.data import InteractionData
from recassist.ranking.storage import check_catalog, load_npz, save_npz

FORMAT = 1


@register
class PopularityRanker(Ranker):
    """Score = number of training interactions of the item (the same for every user)."""

    name = "popularity"

    def __init__(self) -> None:
        super().__init__()
        self.counts = np.zeros(0, dtype=np.float32)
        self.catalog_version = ""

    def fit(self, data: InteractionData, *, progress: bool = False) -> dict[str, Any]:
        self._set_vocabulary(data.item_ids)
        self.counts = data.item_counts().astype(np.float32)
        self.catalog_version = data.catalog_version
        return {}

    def score(self, users: Sequence[EncodedUser]) -> np.ndarray:
        self._require_fitted()
        return np.broadcast_to(self.counts, (len(users), self.counts.size)).copy()

    def score_subset(self, user: EncodedUser, idx: np.ndarray) -> np.ndarray:
        return self.counts[idx]

    def save(self, path: Path | str) -> None:
        self._require_fitted()
        meta = {"ranker": self.name, "format": FORMAT, "catalog_version": self.catalog_version}
        save_npz(path, meta, {"item_ids": np.array(self.item_ids), "counts": self.counts})

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> PopularityRanker:
        meta, arrays = load_npz(path, cls.name)
        check_catalog(meta.get("catalog_version"), catalog_version, path)
        r = cls()
        r._set_vocabulary(arrays["item_ids"].tolist())
        r.counts = arrays["counts"].astype(np.float32)
        r.catalog_version = meta.get("catalog_version", "")
        return r
