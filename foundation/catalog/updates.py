"""Catalog updates made while serving (`PUT/DELETE /v1/items`), kept in the data dir so restarts see them.

The catalog folder itself is never rewritten: updates are appended, one JSON
line each (flushed and fsynced), to `data_dir/catalog_updates.jsonl` and
replayed over the catalog on load. A crash can only cut the last line short;
such a line is ignored, and the index check then asks for `recassist index build`.

With `RECASSIST_REDIS_URL` set, the log lives in Redis instead (`updates_redis`), so every API
worker, on any machine, replays and follows the same sequence of updates.

A catalog other than the first (`domain`, e.g. "books") keeps its own log: the file
`data_dir/catalog_updates-<domain>.jsonl`, or with Redis its own list there (`updates_redis.log_key`).
A file a worker wrote before Redis was configured is still replayed, before the Redis log.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.settings import Settings

UPDATES_FILE = "catalog_updates.jsonl"
_LOCK = threading.Lock()
#: Above this share of the catalog changed at once, catalog-derived tables are rebuilt, not patched.
SMALL_CHANGE_SHARE = 0.05


@dataclass(frozen=True)
class CatalogChange:
    """What differs between a catalog and one derived from it by updates (`with_items` / `without_items`)."""

    upserted: frozenset[str]  # ids added, or replaced by another `Item`
    removed: frozenset[str]
    interactions_changed: bool  # a removed item took interactions with it

    @classmethod
    def between(cls, old: Catalog, new: Catalog) -> CatalogChange:
        """Compares item objects by identity (updates keep the unchanged ones): ~1 ms for 10k items."""
        upserted = frozenset(i for i, it in new.items.items() if old.items.get(i) is not it)
        removed = frozenset(i for i in old.items if i not in new.items)
        # Updates only ever drop interactions (of removed items), so an equal count means the same log.
        changed = new.interactions is not old.interactions and len(new.interactions) != len(old.interactions)
        return cls(upserted, removed, changed)

    def is_small(self, n_items: int) -> bool:
        """Whether patching the derived tables is exact and worth it: the interactions are the same (so
        co-occurrence, popularity and trends of the kept items are too) and few items changed."""
        n = len(self.upserted) + len(self.removed)
        return not self.interactions_changed and n <= max(1, SMALL_CHANGE_SHARE * n_items)


def updates_path(settings: Settings, domain: str | None = None) -> Path:
    """The first catalog's log (`domain` None) or another catalog's."""
    return Path(settings.data_dir) / (UPDATES_FILE if domain is None else f"catalog_updates-{domain}.jsonl")


def write_lock(settings: Settings, domain: str | None = None) -> AbstractContextManager:
    """Held around a write to `domain`'s catalog (None: the first): across every worker with Redis
    (`updates_redis.write_lock`); with the file log there is one process, which serialises its own writes."""
    if settings.redis_url:
        from recassist.foundation.catalog import updates_redis

        return updates_redis.write_lock(settings.redis_url, domain=domain)
    return nullcontext()


def record_upsert(settings: Settings, item: Item, domain: str | None = None) -> int | None:
    """Log an upsert -> its version in the shared log (None for the file log)."""
    return _append(settings, {"op": "upsert", "item": item.model_dump(mode="json")}, domain)


def record_delete(settings: Settings, item_id: str, domain: str | None = None) -> int | None:
    """Log a delete -> its version in the shared log (None for the file log)."""
    return _append(settings, {"op": "delete", "item_id": item_id}, domain)


def _append(settings: Settings, entry: dict, domain: str | None = None) -> int | None:
    if settings.redis_url:
        from recassist.foundation.catalog.updates_redis import append, notify

        version = append(settings.redis_url, entry, domain)
        notify(settings.redis_url, version, domain)
        return version
    path = updates_path(settings, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return None


def updates_since(catalog: Catalog, settings: Settings, version: int, domain: str | None = None
                  ) -> tuple[Catalog, int]:
    """`catalog` with `domain`'s shared log's updates after `version` applied -> (catalog, the version it now
    includes). Without Redis there is no shared log: (catalog, version)."""
    if not settings.redis_url:
        return catalog, version
    from recassist.foundation.catalog.updates_redis import entries_since, replay

    entries = entries_since(settings.redis_url, version, domain)
    return (replay(catalog, entries)[0], entries[-1][0]) if entries else (catalog, version)


def apply_updates(catalog: Catalog, settings: Settings, domain: str | None = None) -> Catalog:
    """`catalog` with every recorded update replayed in order (the same catalog object when there are none).
    `domain`: another catalog than the first, replayed from its own log (with Redis: its file first, if a
    worker wrote one before Redis was configured, then the Redis log)."""
    if settings.redis_url and domain is None:
        from recassist.foundation.catalog.updates_redis import entries_since, replay

        return replay(catalog, entries_since(settings.redis_url, 0))[0]
    out = _replay_file(catalog, updates_path(settings, domain))
    if settings.redis_url:
        from recassist.foundation.catalog.updates_redis import entries_since, replay

        out = replay(out, entries_since(settings.redis_url, 0, domain))[0]
    return out


def _replay_file(catalog: Catalog, path: Path) -> Catalog:
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
