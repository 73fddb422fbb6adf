"""Load a goodbooks-10k folder (books + shelves + ratings) into a `Catalog` of domain "books".

Files read (the original release's names and columns; any subset of rows works):
- `books_top20_tags.csv`: book_id, authors, original_publication_year, original_title, title,
  language_code, average_rating, work_ratings_count, top_tags ('|'-separated shelves, most used first);
  or, without it, `books.csv` (the same columns but no shelves).
- `ratings.csv`: book_id, user_id, rating (1-5). No timestamps: the catalog is marked untimed.

Each book becomes an `Item`: title without the series suffix ("The Hunger Games (The Hunger Games, #1)"
-> "The Hunger Games", the full title kept as an alias, and the original title when it differs), year =
original publication year (absent or before year 1 -> None), genres = the shared aspects its shelves map
to, tags = its content shelves (reader-action shelves such as "to-read" dropped), authors = the `authors`
column split on commas, description = "A book by <authors>." (what the text index embeds).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from recassist.foundation.catalog.models import Catalog, Interaction, Item
from recassist.foundation.catalog.reading import csv_rows, number_field, required_field, unique_items
from recassist.foundation.errors import DataFormatError, InputError
from recassist.foundation.vocabulary import is_noise_shelf, to_shared

BOOKS_WITH_SHELVES = "books_top20_tags.csv"
BOOKS_PLAIN = "books.csv"
RATINGS = "ratings.csv"
_SERIES_SUFFIX = re.compile(r"\s*\(([^()]*#\s*[\d.]+[^()]*)\)\s*$")
_BOOK_COLUMNS = ("book_id", "authors", "original_publication_year", "original_title", "title")


def is_goodbooks_dir(path: Path) -> bool:
    """A folder with goodbooks' book file (book_id column) beside a ratings file, or the shelves file alone."""
    if (path / BOOKS_WITH_SHELVES).is_file():
        return True
    books = path / BOOKS_PLAIN
    if not books.is_file():
        return False
    with books.open(newline="", encoding="utf-8") as f:
        return "book_id" in (next(csv.reader(f), None) or [])


def load_goodbooks(path: Path) -> Catalog:
    """Read books, shelves and ratings; a bad row raises `DataFormatError` naming file, line and field."""
    books = path / BOOKS_WITH_SHELVES
    if not books.is_file():
        books = path / BOOKS_PLAIN
    if not books.is_file():
        raise InputError(f"{path} has neither {BOOKS_WITH_SHELVES} nor {BOOKS_PLAIN}; is it a goodbooks-10k folder?")
    numbered = ((line, _book(row, books, line)) for line, row in csv_rows(books, _BOOK_COLUMNS))
    items = unique_items(numbered, books, id_field="book_id", what="books")
    interactions: list[Interaction] = []
    ratings = path / RATINGS
    if ratings.is_file():
        for line, row in csv_rows(ratings, ("book_id", "user_id", "rating")):
            item_id = required_field(row, "book_id", ratings, line)
            if item_id not in items:
                raise DataFormatError(str(ratings), line, "book_id", f"an id present in {books.name}", item_id)
            value = number_field(row, "rating", ratings, line, expected="a number")
            if not 1 <= value <= 5:
                raise DataFormatError(str(ratings), line, "rating", "a rating from 1 to 5", row["rating"])
            interactions.append(Interaction(required_field(row, "user_id", ratings, line), item_id, value, 0))
    return Catalog(name=path.name, items=items, interactions=interactions, domain="books", timed=False)


def _book(row: dict, path: Path, line: int) -> Item:
    item_id = required_field(row, "book_id", path, line)
    if not item_id.isdigit():
        raise DataFormatError(str(path), line, "book_id", "a positive whole number", item_id)
    full_title = " ".join(required_field(row, "title", path, line).split())
    title = _SERIES_SUFFIX.sub("", full_title) or full_title
    aliases = [t for t in (full_title, " ".join((row.get("original_title") or "").split())) if t and t != title]
    year = None
    raw_year = (row.get("original_publication_year") or "").strip()
    if raw_year:
        try:
            year = int(float(raw_year))
        except ValueError:
            raise DataFormatError(str(path), line, "original_publication_year", "a year", raw_year) from None
        year = year if year >= 1 else None  # "-750" (the Iliad): no year the filters can use
    shelves = [s.strip().lower() for s in (row.get("top_tags") or "").split("|") if s.strip()]
    content = tuple(dict.fromkeys(s.replace("-", " ") for s in shelves if not is_noise_shelf(s)))
    names = tuple(dict.fromkeys(" ".join(a.split()) for a in (row.get("authors") or "").split(",") if a.strip()))
    authors = ", ".join(names)
    return Item(
        item_id=item_id, title=title, year=year, genres=to_shared(shelves), tags=content,
        aliases=tuple(dict.fromkeys(aliases)), description=f"A book by {authors}." if authors else None,
        authors=names,
    )

