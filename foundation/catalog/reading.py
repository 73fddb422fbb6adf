"""What every catalog loader reads files with: CSV rows with their line numbers, checked fields, unique items.

Each error is a `DataFormatError` naming the file, the line and the field, so a user can find and
fix the row; shared here so every format words them the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from recassist.foundation.catalog.models import Item
from recassist.foundation.errors import DataFormatError, InputError


def csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each data row of a CSV file (the header is line 1); the header must name `required`."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(str(path), 1, ",".join(missing), f"a header with columns {', '.join(required)}")
        yield from enumerate(reader, start=2)


def required_field(row: dict, field: str, path: Path, line: int) -> str:
    """The field's value without surrounding blanks; empty or absent raises `DataFormatError`."""
    value = (row.get(field) or "").strip()
    if not value:
        raise DataFormatError(str(path), line, field, "a non-empty value")
    return value


def number_field(row: dict, field: str, path: Path, line: int, kind: type = float, expected: str = ""):
    """The field read as `kind` (float or int); `expected` words the error (default: "a float" / "a int")."""
    raw = required_field(row, field, path, line)
    try:
        return kind(raw)
    except ValueError:
        raise DataFormatError(str(path), line, field, expected or f"a {kind.__name__}", raw) from None


def unique_items(
    numbered: Iterable[tuple[int, Item]], path: Path, *, id_field: str = "item_id", what: str = "items"
) -> dict[str, Item]:
    """Items by id from (line, item) pairs read from `path`; a repeated id or no item at all is an error.

    `id_field` and `what` name the id column and the rows in the messages ("book_id", "books").
    """
    items: dict[str, Item] = {}
    for line, item in numbered:
        if item.item_id in items:
            raise DataFormatError(str(path), line, id_field, "a unique id", item.item_id)
        items[item.item_id] = item
    if not items:
        raise InputError(f"{path} holds no {what}; a catalog needs at least one")
    return items
