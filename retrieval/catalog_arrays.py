"""Column arrays over a catalog's items, built once, for fast filtering and scoring.

Row i of every array is `ids[i]` (catalog order), the same order as
`item_vectors()` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from recassist.foundation.catalog import Catalog
from recassist.retrieval.trending import new_releases, trending_scores

NO_YEAR = -1


@dataclass(frozen=True)
class CatalogArrays:
    ids: list[str]
    index: dict[str, int]
    #: int32 [n]; NO_YEAR where the item has no year.
    years: np.ndarray
    #: genre name -> column of `genre_matrix`.
    genre_col: dict[str, int]
    #: bool [n, n_genres].
    genre_matrix: np.ndarray
    #: lower-cased tag -> int array of row indices carrying it.
    tag_rows: dict[str, np.ndarray]
    #: int64 [n]: interaction counts.
    popularity: np.ndarray
    #: float32 [n]: interactions per year since the item's first one (see `retrieval.trending`).
    trending: np.ndarray
    #: bool [n]: released in the catalog's current year or the one before (see `retrieval.trending`).
    new_release: np.ndarray

    @classmethod
    def build(cls, catalog: Catalog) -> CatalogArrays:
        ids = list(catalog.item_ids)
        index = {item_id: i for i, item_id in enumerate(ids)}
        items = [catalog.items[i] for i in ids]
        years = np.array([it.year if it.year else NO_YEAR for it in items], dtype=np.int32)
        genre_col = {g: j for j, g in enumerate(catalog.genres)}
        genre_matrix = np.zeros((len(ids), len(genre_col)), dtype=bool)
        tag_lists: dict[str, list[int]] = {}
        for row, it in enumerate(items):
            for g in it.genres:
                genre_matrix[row, genre_col[g]] = True
            for t in {t.lower() for t in it.tags}:
                tag_lists.setdefault(t, []).append(row)
        pop = catalog.popularity
        popularity = np.array([pop.get(i, 0) for i in ids], dtype=np.int64)
        return cls(
            ids=ids,
            index=index,
            years=years,
            genre_col=genre_col,
            genre_matrix=genre_matrix,
            tag_rows={t: np.array(r, dtype=np.int64) for t, r in tag_lists.items()},
            popularity=popularity,
            trending=trending_scores(catalog, index),
            new_release=new_releases(catalog, years),
        )

    def updated(self, catalog: Catalog, upserted: frozenset[str]) -> CatalogArrays:
        """The arrays of `catalog`, derived from this one's by a small change with the same interactions
        (`CatalogChange.is_small`): kept items' rows are copied, only `upserted` items' rows are computed.
        Equal to `build(catalog)`, in a few ms instead of ~0.5 s on 10k items."""
        ids = list(catalog.item_ids)
        index = {item_id: i for i, item_id in enumerate(ids)}
        n = len(ids)
        # old row of each new row (-1: new or replaced item, computed below)
        source = np.array([-1 if i in upserted else self.index.get(i, -1) for i in ids], dtype=np.int64)
        kept = np.flatnonzero(source >= 0)
        fresh = np.flatnonzero(source < 0)
        old_to_new = np.full(len(self.ids), -1, dtype=np.int64)
        old_to_new[source[kept]] = kept

        years = np.full(n, NO_YEAR, dtype=np.int32)
        years[kept] = self.years[source[kept]]
        genre_col = {g: j for j, g in enumerate(catalog.genres)}
        genre_matrix = np.zeros((n, len(genre_col)), dtype=bool)
        for g, old_col in self.genre_col.items():
            if g in genre_col:
                genre_matrix[kept, genre_col[g]] = self.genre_matrix[source[kept], old_col]
        tag_lists: dict[str, list[np.ndarray]] = {}
        for t, rows in self.tag_rows.items():
            moved = old_to_new[rows]
            moved = moved[moved >= 0]
            if len(moved):
                tag_lists[t] = [moved]
        # Interactions are unchanged: a replaced item keeps its counts and trend, a new one has none.
        popularity = np.zeros(n, dtype=np.int64)
        popularity[kept] = self.popularity[source[kept]]
        trending = np.zeros(n, dtype=np.float32)
        trending[kept] = self.trending[source[kept]]
        for row in fresh:
            item_id = ids[row]
            it = catalog.items[item_id]
            years[row] = it.year if it.year else NO_YEAR
            for g in it.genres:
                genre_matrix[row, genre_col[g]] = True
            for t in {t.lower() for t in it.tags}:
                tag_lists.setdefault(t, []).append(np.array([row], dtype=np.int64))
            if item_id in self.index:
                popularity[row] = self.popularity[self.index[item_id]]
                trending[row] = self.trending[self.index[item_id]]
        return CatalogArrays(
            ids=ids,
            index=index,
            years=years,
            genre_col=genre_col,
            genre_matrix=genre_matrix,
            tag_rows={t: np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]
                      for t, parts in tag_lists.items()},
            popularity=popularity,
            trending=trending,
            new_release=new_releases(catalog, years),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, item_ids: list[str] | tuple[str, ...] | set[str]) -> np.ndarray:
        """Row indices of the ids that exist in the catalog (unknown ids skipped), int64."""
        return np.array([self.index[i] for i in item_ids if i in self.index], dtype=np.int64)
