"""Catalog: typed items and interactions, loaded from MovieLens, goodbooks-10k or recassist files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from recassist.foundation.catalog.files import is_recassist_dir, load_recassist_dir
from recassist.foundation.catalog.goodbooks import is_goodbooks_dir, load_goodbooks
from recassist.foundation.catalog.models import Catalog, Interaction, Item
from recassist.foundation.catalog.movielens import is_movielens_dir, load_movielens
from recassist.foundation.errors import InputError

__all__ = ["Catalog", "Interaction", "Item", "catalog_domain", "load_catalog"]


def load_catalog(path: Path | str) -> Catalog:
    """Load a catalog folder in either supported format; raises `InputError` with what was wrong."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"catalog folder {folder} does not exist; set RECASSIST_CATALOG_DIR")
    if is_recassist_dir(folder):
        return load_recassist_dir(folder)
    if is_movielens_dir(folder):
        return load_movielens(folder)
    if is_goodbooks_dir(folder):
        return load_goodbooks(folder)
    raise InputError(
        f"{folder} holds none of items.csv/items.jsonl (recassist), movies.csv (MovieLens) "
        "or books_top20_tags.csv/books.csv (goodbooks-10k)"
    )


def catalog_domain(path: Path | str) -> str:
    """The domain a catalog folder serves, read from its file names alone (nothing is loaded):
    "movies" for MovieLens, "books" for goodbooks-10k, the folder's name for recassist files."""
    folder = Path(path)
    if is_recassist_dir(folder):
        return folder.name
    if is_movielens_dir(folder):
        return "movies"
    if is_goodbooks_dir(folder):
        return "books"
    raise InputError(f"{folder} is not a catalog folder (no items, movies.csv or books files)")


@lru_cache(maxsize=4)
def load_catalog_cached(path: str) -> Catalog:
    """Process-wide cache: the catalog is read-only once loaded."""
    return load_catalog(path)
