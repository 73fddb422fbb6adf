"""Catalog updates in Redis, shared by every API worker: a versioned log plus a notification channel.

The log is a Redis list whose n-th entry (1-based) is update version n, appended with the
version counter in one Lua script, so list order is version order and every worker replays
the same sequence. A worker that starts later replays the whole list on load; running
workers follow it (`assistant.catalog_sync`) when `notify` publishes on the channel. For the
log to outlive a Redis restart, run Redis with `appendonly yes` (docs/deployment.md).

Each catalog has its own log, channel and write lock: the first catalog's under the names below
(`domain` None, as before several catalogs were served), another's with ":<domain>" appended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.errors import BackendError
from recassist.foundation.redis_client import connect, unreachable

LOG_KEY = "recassist:catalog:updates"
CHANNEL = "recassist:catalog:updates"
WRITE_LOCK_KEY = "recassist:catalog:write-lock"
#: A writer that dies holding the lock frees it after this long; a write (catch up, embed, index, swap)
#: takes well under a second for a few items, a new genre (every item's metadata rewritten) longer.
WRITE_LOCK_TIMEOUT_S = 120.0
#: How long a write waits for another worker's write before giving up with a 503.
WRITE_LOCK_WAIT_S = 30.0

_clients: dict[str, Any] = {}


def log_key(domain: str | None = None) -> str:
    """The Redis list holding `domain`'s updates (None: the first catalog's)."""
    return LOG_KEY if domain is None else f"{LOG_KEY}:{domain}"


def channel(domain: str | None = None) -> str:
    """The channel announcing `domain`'s new versions (None: the first catalog's)."""
    return CHANNEL if domain is None else f"{CHANNEL}:{domain}"


def client(url: str) -> Any:
    """The process's client for `url` (created on first use)."""
    if url not in _clients:
        _clients[url] = connect(url)
    return _clients[url]


def append(url: str, entry: dict, domain: str | None = None) -> int:
    """Append one update (`{"op": "upsert", "item": ...}` or `{"op": "delete", "item_id": ...}`) to `domain`'s
    log -> its version."""
    import redis

    try:
        # RPUSH returns the new length, which is this entry's version: atomic, no separate counter.
        return int(client(url).rpush(log_key(domain), json.dumps(entry, ensure_ascii=False)))
    except redis.RedisError as e:
        raise unreachable(url, e) from None


def notify(url: str, version: int, domain: str | None = None) -> None:
    """Tell every worker following `domain`'s log that it reached `version`."""
    import redis

    try:
        client(url).publish(channel(domain), str(version))
    except redis.RedisError as e:
        raise unreachable(url, e) from None


def log_version(url: str, domain: str | None = None) -> int:
    """The version of the latest update in `domain`'s log (0 when there is none)."""
    import redis

    try:
        return int(client(url).llen(log_key(domain)))
    except redis.RedisError as e:
        raise unreachable(url, e) from None


def entries_since(url: str, version: int, domain: str | None = None) -> list[tuple[int, dict]]:
    """`domain`'s updates after `version` as (version, entry), oldest first."""
    import redis

    try:
        texts = client(url).lrange(log_key(domain), version, -1)
    except redis.RedisError as e:
        raise unreachable(url, e) from None
    out = []
    for offset, text in enumerate(texts, start=version + 1):
        try:
            out.append((offset, json.loads(text)))
        except json.JSONDecodeError:
            continue  # not ours to judge: a malformed entry is skipped, as a cut-short file line is
    return out


@contextmanager
def write_lock(url: str, *, timeout_s: float = WRITE_LOCK_TIMEOUT_S, wait_s: float = WRITE_LOCK_WAIT_S,
               domain: str | None = None) -> Iterator[None]:
    """Held by one worker at a time across all workers (a Redis lock, freed after `timeout_s` if its holder
    died): a catalog write catches up with the log, appends and writes the index under it, so the log
    stays linear and the index manifest always describes the log's latest version.

    Raises `BackendError` when Redis does not answer or another write holds the lock for over `wait_s`.
    """
    import redis

    key = WRITE_LOCK_KEY if domain is None else f"{WRITE_LOCK_KEY}:{domain}"  # catalogs do not wait on each other
    lock = client(url).lock(key, timeout=timeout_s, blocking_timeout=wait_s)
    try:
        acquired = lock.acquire()
    except redis.RedisError as e:
        raise unreachable(url, e) from None
    if not acquired:
        raise BackendError(f"another worker has been writing the catalog for over {wait_s:g} s; retry the "
                           "request later")
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            pass  # it expired while held (a write over `timeout_s`); another writer may already hold it
        except redis.RedisError as e:
            raise unreachable(url, e) from None


def replay(catalog: Catalog, entries: list[tuple[int, dict]]) -> tuple[Catalog, int]:
    """`catalog` with `entries` (from `entries_since`) applied in order -> (catalog, how many changed it)."""
    changed = 0
    for _, entry in entries:
        updated = apply_entry(catalog, entry)
        changed += updated is not catalog
        catalog = updated
    return catalog, changed


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
