"""recassist's own catalog format: items and interactions as CSV or JSONL.

items.csv / items.jsonl      item_id, title, year?, genres?, tags?, aliases?, description?, authors?
interactions.csv / .jsonl    user_id, item_id, value?, timestamp?

In CSV, list fields (genres, tags, aliases, authors) are '|'-separated; in JSONL they
are JSON arrays (a '|'-separated string is accepted too). Every row is
validated; the first bad row stops the load with file, line, field and what
was expected. See README "Your own data".
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from recassist.foundation.catalog.models import Catalog, Interaction, Item
from recassist.foundation.catalog.reading import unique_items
from recassist.foundation.errors import DataFormatError, InputError

LIST_FIELDS = ("genres", "tags", "aliases", "authors")
_ITEM = TypeAdapter(Item)


class _InteractionRow(BaseModel):
    """Validation shape for one interaction row; converted to the slotted `Interaction`."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1)
    item_id: str = Field(min_length=1)
    value: float = 1.0
    timestamp: int = 0


_INTERACTION = TypeAdapter(_InteractionRow)


def find_file(folder: Path, stem: str) -> Path | None:
    for ext in (".jsonl", ".csv"):
        if (folder / f"{stem}{ext}").is_file():
            return folder / f"{stem}{ext}"
    return None


def is_recassist_dir(path: Path) -> bool:
    return find_file(path, "items") is not None


def load_recassist_dir(path: Path) -> Catalog:
    items_file = find_file(path, "items")
    if items_file is None:
        raise InputError(f"{path} has neither items.csv nor items.jsonl")
    numbered = ((line, _validate(_ITEM, _coerce_item(row), items_file, line)) for line, row in _records(items_file))
    items = unique_items(numbered, items_file)
    interactions: list[Interaction] = []
    inter_file = find_file(path, "interactions")
    if inter_file is not None:
        for line, row in _records(inter_file):
            x = Interaction(**_validate(_INTERACTION, _coerce_interaction(row), inter_file, line).model_dump())
            if x.item_id not in items:
                expected = f"an id present in {items_file.name}"
                raise DataFormatError(str(inter_file), line, "item_id", expected, x.item_id)
            interactions.append(x)
    return Catalog(name=path.name, items=items, interactions=interactions, domain=path.name)


def _records(path: Path):
    """Yield (1-based line, dict) from a CSV (header on line 1) or JSONL file."""
    with path.open(newline="", encoding="utf-8") as f:
        if path.suffix == ".csv":
            for i, row in enumerate(csv.DictReader(f), start=2):
                yield i, {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        else:
            for i, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as e:
                    raise DataFormatError(str(path), i, "(row)", f"one JSON object per line ({e.msg})") from None
                if not isinstance(row, dict):
                    raise DataFormatError(str(path), i, "(row)", "a JSON object", type(row).__name__)
                yield i, row


def _coerce_item(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items()}
    for key in LIST_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = [p.strip() for p in out[key].split("|") if p.strip()]
    if isinstance(out.get("item_id"), int):
        out["item_id"] = str(out["item_id"])
    return out


def _coerce_interaction(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("user_id", "item_id"):
        if isinstance(out.get(key), int):
            out[key] = str(out[key])
    return out


def _validate(adapter: TypeAdapter, row: dict[str, Any], path: Path, line: int):
    try:
        return adapter.validate_python(row)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(row)"
        raise DataFormatError(str(path), line, field, err["msg"].lower(), err.get("input")) from None
