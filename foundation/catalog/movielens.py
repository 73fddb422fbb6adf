"""Load a MovieLens-format folder (movies.csv, ratings.csv, tags.csv) into a `Catalog`."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from recassist.foundation.catalog.models import Catalog, Interaction, Item
from recassist.foundation.catalog.reading import csv_rows, number_field, required_field
from recassist.foundation.catalog.titles import parse_movielens_title
from recassist.foundation.errors import DataFormatError, InputError

MAX_TAGS_PER_ITEM = 20


def is_movielens_dir(path: Path) -> bool:
    return (path / "movies.csv").is_file()


def load_movielens(path: Path) -> Catalog:
    """Read movies, ratings and tags; every bad row raises `DataFormatError` (no partial load)."""
    movies = path / "movies.csv"
    if not movies.is_file():
        raise InputError(f"{path} has no movies.csv; is it a MovieLens folder?")
    tags = _read_tags(path / "tags.csv")
    items: dict[str, Item] = {}
    for line, row in csv_rows(movies, ("movieId", "title", "genres")):
        item_id = required_field(row, "movieId", movies, line)
        raw_title = required_field(row, "title", movies, line)
        title, year, aliases = parse_movielens_title(raw_title)
        genres = tuple(g for g in (row.get("genres") or "").split("|") if g and g != "(no genres listed)")
        if item_id in items:
            raise DataFormatError(str(movies), line, "movieId", "a unique id", item_id)
        items[item_id] = Item(
            item_id=item_id, title=title, year=year, genres=genres, aliases=tuple(aliases), tags=tags.get(item_id, ())
        )
    interactions: list[Interaction] = []
    ratings = path / "ratings.csv"
    if ratings.is_file():
        for line, row in csv_rows(ratings, ("userId", "movieId", "rating", "timestamp")):
            item_id = required_field(row, "movieId", ratings, line)
            if item_id not in items:
                raise DataFormatError(str(ratings), line, "movieId", "an id present in movies.csv", item_id)
            interactions.append(
                Interaction(
                    user_id=required_field(row, "userId", ratings, line),
                    item_id=item_id,
                    value=number_field(row, "rating", ratings, line, float),
                    timestamp=number_field(row, "timestamp", ratings, line, int),
                )
            )
    return Catalog(name=path.name, items=items, interactions=interactions, domain="movies")


def _read_tags(path: Path) -> dict[str, tuple[str, ...]]:
    """Aggregate free-text tags per item: case-insensitive counts, most frequent first."""
    if not path.is_file():
        return {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    shown: dict[str, str] = {}
    for _line, row in csv_rows(path, ("userId", "movieId", "tag")):
        tag = " ".join((row.get("tag") or "").split())
        if not tag:
            continue
        key = tag.lower()
        shown.setdefault(key, tag.lower())
        counts[row["movieId"]][key] += 1
    return {
        mid: tuple(shown[k] for k, _ in c.most_common(MAX_TAGS_PER_ITEM)) for mid, c in counts.items()
    }

