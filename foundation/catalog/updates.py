"""Catalog updates made while serving (`PUT/DELETE /v1/items`), kept in the data dir so restarts see them.

The catalog folder itself is never rewritten: updates are appended, one JSON
line each (flushed and fsynced), to `data_dir/catalog_updates.jsonl` and
replayed over the catalog on load. A crash can only cut the last line short;
such a line is ignored, and the index check then asks for `recassist index build`.

With `RECASSIST_REDIS_URL` set, the log lives in Redis instead (`updates_redis`), so every API
worker, on any machine, replays and follows the same sequence of updates.

A catalog other than the first (`domain`, e.g. "books") keeps its own log file,
`data_dir/catalog_updates-<domain>.jsonl`, in the data dir even with Redis set.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.settings import Settings

UPDATES_FILE = "catalog_updates.jsonl"
_LOCK = threading.Lock()


def updates_path(settings: Settings, domain: str | None = None) -> Path:
    """The first catalog's log (`domain` None) or another catalog's."""
    return Path(settings.data_dir) / (UPDATES_FILE if domain is None else f"catalog_updates-{domain}.jsonl")


def record_upsert(settings: Settings, item: Item, domain: str | None = None) -> None:
    _append(settings, {"op": "upsert", "item": item.model_dump(mode="json")}, domain)


def record_delete(settings: Settings, item_id: str, domain: str | None = None) -> None:
    _append(settings, {"op": "delete", "item_id": item_id}, domain)


def _append(settings: Settings, entry: dict, domain: str | None = None) -> None:
    if settings.redis_url and domain is None:
        from recassist.foundation.catalog.updates_redis import append, notify

        notify(settings.redis_url, append(settings.redis_url, entry))
        return
    path = updates_path(settings, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def apply_updates(catalog: Catalog, settings: Settings, domain: str | None = None) -> Catalog:
    """`catalog` with every recorded update replayed in order (the same catalog object when there are none).
    `domain`: another catalog than the first, replayed from its own log."""
    if settings.redis_url and domain is None:
        from recassist.foundation.catalog.updates_redis import apply_entry, entries_since

        out = catalog
        for _, entry in entries_since(settings.redis_url, 0):
            out = apply_entry(out, entry)
        return out
    path = updates_path(settings, domain)
    if not path.is_file():
        return catalog
    out = catalog
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash mid-append: that update never completed
        if entry.get("op") == "upsert":
            out = out.with_items([Item.model_validate(entry["item"])])
        elif entry.get("op") == "delete" and entry.get("item_id") in out:
            out = out.without_items([entry["item_id"]])
    return out
