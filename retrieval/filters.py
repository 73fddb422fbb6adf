"""Hard constraints -> one validated `Filter`, rendered as a Chroma `where` and as a numpy mask.

Only fields and operators in `ALLOWED` get through; anything else raises
`FilterError` naming the field (a `where` is JSON handed to the store, so we
never pass user input through). The same `Filter` is evaluated in Chroma (for
vector search) and in numpy (for the co-occurrence and popularity sources), so
every source obeys the same constraints. The item metadata written to Chroma
is built here too (`item_metadata`), keeping keys and filters in one place.

Spec accepted by `parse_filter` (what an API caller sends)::

    {"year": {"$gte": 1990, "$lte": 1999}, "genre": {"$nin": ["Horror"]}, "item_id": {"$nin": ["42"]}}
    {"year": 1999}                       # shorthand for {"$eq": 1999}

Items without a year fail every year clause (unknown is not "in range").
Tag clauses cannot be expressed in Chroma metadata; they are applied after search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.errors import FilterError
from recassist.foundation.profile import Constraints
from recassist.retrieval.catalog_arrays import NO_YEAR, CatalogArrays

GENRE_PREFIX = "genre:"

ALLOWED: dict[str, frozenset[str]] = {
    "year": frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}),
    "genre": frozenset({"$eq", "$ne", "$in", "$nin"}),
    "item_id": frozenset({"$eq", "$ne", "$in", "$nin"}),
    "tag": frozenset({"$nin"}),
}
_LIST_OPS = frozenset({"$in", "$nin"})


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: Any  # int for year; str for $eq/$ne; tuple[str, ...] for $in/$nin


@dataclass(frozen=True)
class Filter:
    """A conjunction of allow-listed clauses. `Filter()` matches everything."""

    clauses: tuple[Clause, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.clauses)

    def __and__(self, other: Filter) -> Filter:
        return Filter(self.clauses + other.clauses)

    def where(self) -> dict[str, Any] | None:
        """Chroma `where` for the clauses Chroma can evaluate (all but tag); None when there are none."""
        parts: list[dict[str, Any]] = []
        for c in self.clauses:
            if c.field in ("year", "item_id"):
                value = list(c.value) if c.op in _LIST_OPS else c.value
                parts.append({c.field: {c.op: value}})
                if c.field == "year" and c.op == "$ne":
                    # Chroma's $ne matches items without the key; unknown years must fail like in `mask`.
                    parts.append({"year": {"$gt": NO_YEAR}})
            elif c.field == "genre":
                wanted = c.op in ("$eq", "$in")
                genres = c.value if c.op in _LIST_OPS else (c.value,)
                terms = [{GENRE_PREFIX + g: {"$eq": wanted}} for g in genres]
                if c.op in ("$eq", "$nin", "$ne") or len(terms) == 1:
                    parts.extend(terms)
                else:
                    parts.append({"$or": terms})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def mask(self, arrays: CatalogArrays) -> np.ndarray:
        """bool [n_items] over `arrays` rows: True where the item satisfies every clause."""
        keep = np.ones(len(arrays), dtype=bool)
        for c in self.clauses:
            if c.field == "year":
                y = arrays.years
                ok = {
                    "$eq": y == c.value,
                    "$ne": y != c.value,
                    "$gt": y > c.value,
                    "$gte": y >= c.value,
                    "$lt": y < c.value,
                    "$lte": y <= c.value,
                }[c.op]
                keep &= ok & (y != NO_YEAR)
            elif c.field == "genre":
                genres = c.value if c.op in _LIST_OPS else (c.value,)
                cols = [arrays.genre_col[g] for g in genres if g in arrays.genre_col]
                has = arrays.genre_matrix[:, cols].any(axis=1) if cols else np.zeros(len(arrays), bool)
                keep &= has if c.op in ("$eq", "$in") else ~has
            elif c.field == "item_id":
                ids = c.value if c.op in _LIST_OPS else (c.value,)
                member = np.zeros(len(arrays), dtype=bool)
                member[arrays.rows(ids)] = True
                keep &= member if c.op in ("$eq", "$in") else ~member
            elif c.field == "tag":
                for t in c.value:
                    rows = arrays.tag_rows.get(t.lower())
                    if rows is not None:
                        keep[rows] = False
        return keep

    def matches(self, item: Item) -> bool:
        """Whether one item satisfies every clause (same semantics as `mask`)."""
        for c in self.clauses:
            vals = c.value if c.op in _LIST_OPS else (c.value,)
            if c.field == "year":
                if not item.year:
                    return False
                y, v = item.year, c.value
                ok = {
                    "$eq": y == v,
                    "$ne": y != v,
                    "$gt": y > v,
                    "$gte": y >= v,
                    "$lt": y < v,
                    "$lte": y <= v,
                }
                if not ok[c.op]:
                    return False
            elif c.field in ("genre", "item_id"):
                have = set(item.genres) if c.field == "genre" else {item.item_id}
                hit = bool(have & set(vals))
                if hit != (c.op in ("$eq", "$in")):
                    return False
            elif c.field == "tag" and {t.lower() for t in item.tags} & {v.lower() for v in vals}:
                return False
        return True


def item_metadata(item: Item, genre_vocab: list[str]) -> dict[str, Any]:
    """Chroma metadata of one item: item_id, year (when known) and a bool per catalog genre.

    One bool key per genre (rather than a list value) keeps genre filters to
    plain `$eq`, which every Chroma version and both client kinds support.
    """
    meta: dict[str, Any] = {"item_id": item.item_id}
    if item.year:
        meta["year"] = int(item.year)
    own = set(item.genres)
    for g in genre_vocab:
        meta[GENRE_PREFIX + g] = g in own
    return meta


def parse_filter(spec: Mapping[str, Any] | None, catalog: Catalog | None = None) -> Filter:
    """Validate a caller's filter spec (see module docstring) -> `Filter`.

    Raises `FilterError` naming the field for an unknown field, an operator
    not allowed on it, a value of the wrong type, or (with `catalog`) a genre
    outside the catalog's genre vocabulary.
    """
    if spec is None:
        return Filter()
    if not isinstance(spec, Mapping):
        raise FilterError(f"a filter must be an object of field -> condition, got {type(spec).__name__}")
    clauses: list[Clause] = []
    for name, cond in spec.items():
        if name not in ALLOWED:
            raise FilterError(
                f"filter field {name!r} is not allowed; allowed fields: {', '.join(sorted(ALLOWED))}"
            )
        if not isinstance(cond, Mapping):
            cond = {"$eq": cond}
        if not cond:
            raise FilterError(f"filter field {name!r} has an empty condition")
        for op, value in cond.items():
            if op not in ALLOWED[name]:
                allowed = ", ".join(sorted(ALLOWED[name]))
                raise FilterError(f"filter field {name!r} does not allow operator {op!r}; allowed: {allowed}")
            clauses.append(Clause(name, op, _check_value(name, op, value, catalog)))
    return Filter(tuple(clauses))


def _check_value(name: str, op: str, value: Any, catalog: Catalog | None) -> Any:
    if name == "year":
        if isinstance(value, bool) or not isinstance(value, int):
            raise FilterError(f"filter field 'year' needs an integer year, got {value!r}")
        return value
    if op in _LIST_OPS:
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise FilterError(
                f"filter field {name!r} with {op} needs a non-empty list of strings, got {value!r}"
            )
        values = tuple(value)
    else:
        values = (value,)
    if not all(isinstance(v, str) and v for v in values):
        raise FilterError(f"filter field {name!r} needs non-empty strings, got {value!r}")
    if name == "genre" and catalog is not None:
        unknown = [g for g in values if g not in set(catalog.genres)]
        if unknown:
            raise FilterError(
                f"filter field 'genre': {', '.join(map(repr, unknown))} not in the catalog's genres "
                f"({', '.join(catalog.genres[:25])})"
            )
    return values if op in _LIST_OPS else values[0]


def constraints_filter(constraints: Constraints, catalog: Catalog | None = None) -> Filter:
    """A profile's hard constraints -> `Filter` (year range, excluded genres / tags, excluded items).

    Seen items are not a filter clause: the candidate generator removes all
    blocked ids itself. Runtime limits are ignored when items carry no runtime.
    """
    spec: dict[str, dict[str, Any]] = {}
    if constraints.years is not None:
        rng: dict[str, Any] = {}
        if constraints.years.min_year is not None:
            rng["$gte"] = constraints.years.min_year
        if constraints.years.max_year is not None:
            rng["$lte"] = constraints.years.max_year
        if rng:
            spec["year"] = rng
    genres = sorted({a.aspect for a in constraints.excluded_genres if a.kind == "genre"})
    tags = sorted({a.aspect.lower() for a in constraints.excluded_genres if a.kind == "tag"})
    if genres:
        spec["genre"] = {"$nin": genres}
    if tags:
        spec["tag"] = {"$nin": tags}
    excluded = sorted({p.item_id for p in constraints.excluded_items})
    if excluded:
        spec["item_id"] = {"$nin": excluded}
    return parse_filter(spec, catalog)
