"""Catalog updates in Redis, shared by every API worker: a versioned log plus a notification channel.

The log is a Redis list whose n-th entry (1-based) is update version n, appended with the
version counter in one Lua script, so list order is version order and every worker replays
the same sequence. A worker that starts later replays the whole list on load; running
workers follow it (`assistant.catalog_sync`) when `notify` publishes on the channel. For the
log to outlive a Redis restart, run Redis with `appendonly yes` (docs/deployment.md).
"""

from __future__ import annotations

import json
from typing import Any

from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.redis_client import connect, unreachable

LOG_KEY = "recassist:catalog:updates"
CHANNEL = "recassist:catalog:updates"

_clients: dict[str, Any] = {}


def client(url: str) -> Any:
    """The process's client for `url` (created on first use)."""
    if url not in _clients:
        _clients[url] = connect(url)
    return _clients[url]


def append(url: str, entry: dict) -> int:
    """Append one update (`{"op": "upsert", "item": ...}` or `{"op": "delete", "item_id": ...}`) -> its version."""
    import redis

    try:
        # RPUSH returns the new length, which is this entry's version: atomic, no separate counter.
        return int(client(url).rpush(LOG_KEY, json.dumps(entry, ensure_ascii=False)))
    except redis.RedisError as e:
        raise unreachable(url, e) from None


def notify(url: str, version: int) -> None:
    """Tell every worker following the log that it reached `version`."""
    import redis

    try:
        client(url).publish(CHANNEL, str(version))
    except redis.RedisError as e:
        raise unreachable(url, e) from None


def log_version(url: str) -> int:
    """The version of the latest update in the log (0 when there is none)."""
    import redis

    try:
        return int(client(url).llen(LOG_KEY))
    except redis.RedisError as e:
        raise unreachable(url, e) from None


def entries_since(url: str, version: int) -> list[tuple[int, dict]]:
    """The updates after `version` as (version, entry), oldest first."""
    import redis

    try:
        texts = client(url).lrange(LOG_KEY, version, -1)
    except redis.RedisError as e:
        raise unreachable(url, e) from None
    out = []
    for offset, text in enumerate(texts, start=version + 1):
        try:
            out.append((offset, json.loads(text)))
        except json.JSONDecodeError:
            continue  # not ours to judge: a malformed entry is skipped, as a cut-short file line is
    return out


def apply_entry(catalog: Catalog, entry: dict) -> Catalog:
    """`catalog` with one update applied (the same object when it changes nothing)."""
    if entry.get("op") == "upsert":
        item = Item.model_validate(entry["item"])
        if catalog.items.get(item.item_id) == item:
            return catalog
        return catalog.with_items([item])
    if entry.get("op") == "delete" and entry.get("item_id") in catalog:
        return catalog.without_items([entry["item_id"]])
    return catalog
