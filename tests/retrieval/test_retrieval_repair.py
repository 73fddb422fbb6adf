"""Start-up finishes a catalog update that a crash interrupted, so no manual `recassist index build` is needed."""

from __future__ import annotations

import threading
import time

import pytest
from real_servers import redis_server
from recassist.foundation.catalog import Item, updates_redis
from recassist.foundation.catalog.updates import apply_updates, record_upsert, write_lock
from recassist.foundation.errors import StateMismatchError
from recassist.retrieval import index as index_module
from recassist.retrieval.candidates import CandidateGenerator
from recassist.retrieval.index import build_index, open_index, repair_index, upsert_items
from recassist.retrieval.store import Manifest, VectorStore, connect
from retrieval_fixtures import make_catalog

NEW = Item(item_id="new-1", title="Crash Test Film", year=2020, genres=["Drama"],
           description="A film written while the process was killed.")


class KilledMidUpsert(VectorStore):
    """A real store that dies before its upsert writes anything (the manifest is already marked incomplete)."""

    def upsert(self, ids, vectors, metadatas, documents=None, on_chunk=None):
        raise KeyboardInterrupt("killed mid-update")


def test_update_killed_mid_upsert_is_finished_at_start(catalog, settings, embedder, monkeypatch):
    build_index(catalog, settings, embedder)
    real = connect(settings, catalog.name)
    monkeypatch.setattr(index_module, "open_index", lambda *a, **k: KilledMidUpsert(real.client, real.name,
                                                                                    real.where))
    with pytest.raises(KeyboardInterrupt):
        upsert_items(catalog, [NEW], settings, embedder)
    monkeypatch.undo()
    updated = catalog.with_items([NEW])  # what replaying the update log gives the restarted process
    with pytest.raises(StateMismatchError, match="incomplete"):
        open_index(updated, settings, embedder)

    gen = CandidateGenerator.open(settings, updated, repair=True)

    assert gen.store.count() == len(updated)
    assert "new-1" in connect(settings, catalog.name).stored_metadata(index_module.HASH_FIELD)
    assert repair_index(updated, settings, embedder) is None  # nothing left to do


def test_update_logged_but_never_indexed_is_finished(catalog, settings, embedder):
    build_index(catalog, settings, embedder)
    updated = catalog.with_items([NEW])  # killed after the update log, before the index was touched
    with pytest.raises(StateMismatchError, match="other catalog items"):
        open_index(updated, settings, embedder)

    report = repair_index(updated, settings, embedder)

    assert report is not None and (report.upserted, report.deleted) == (1, 0)
    assert open_index(updated, settings, embedder).count() == len(updated)


def test_other_model_or_large_gap_is_left_for_the_command(catalog, settings, embedder, monkeypatch):
    build_index(catalog, settings, embedder)
    store = connect(settings, catalog.name)
    updated = catalog.with_items([NEW])
    monkeypatch.setattr(index_module, "REPAIR_LIMIT", 0)  # a gap larger than start-up should embed
    assert repair_index(updated, settings, embedder) is None
    monkeypatch.undo()
    old = store.manifest()
    store.write_manifest(Manifest(**{**old.__dict__, "embedding_model": "st:other:0", "complete": False}))
    assert repair_index(updated, settings, embedder) is None
    with pytest.raises(StateMismatchError, match="recassist index build"):
        CandidateGenerator.open(settings, updated, repair=True)


def test_missing_index_is_not_built_at_start(settings, embedder):
    assert repair_index(make_catalog(), settings, embedder) is None


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def shared(settings, redis_url):
    """`settings` of a worker in a Redis deployment (an empty database: no updates logged yet)."""
    updates_redis.client(redis_url).flushdb()
    return settings.model_copy(update={"redis_url": redis_url})


def test_with_redis_a_repair_waits_for_the_catalog_write_another_worker_holds(catalog, shared, embedder,
                                                                               monkeypatch):
    build_index(catalog, shared, embedder)
    record_upsert(shared, NEW)  # a worker killed after logging the update, before indexing it
    restarted = apply_updates(catalog, shared)
    held, order = threading.Event(), []

    def other_worker() -> None:
        with updates_redis.write_lock(shared.redis_url):
            held.set()
            time.sleep(1.0)
            order.append("other worker's write done")

    writer = threading.Thread(target=other_worker)
    writer.start()
    assert held.wait(10)
    real_build = index_module.build_index

    def recorded_build(*args, **kwargs):
        order.append("repair writes the index")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(index_module, "build_index", recorded_build)
    report = repair_index(restarted, shared, embedder)
    writer.join()

    assert order == ["other worker's write done", "repair writes the index"]
    assert report is not None and (report.upserted, report.deleted) == (1, 0)


def test_with_redis_a_repair_keeps_an_update_another_worker_finished_meanwhile(catalog, shared, embedder):
    build_index(catalog, shared, embedder)
    starting = apply_updates(catalog, shared)  # what a starting worker read: no updates yet
    with write_lock(shared):  # meanwhile another worker adds an item as `Assistant.upsert_item` does
        record_upsert(shared, NEW)
        upsert_items(catalog, [NEW], shared, embedder)

    # Against its stale catalog the index looks out of date; rolling it back would drop the new item.
    assert repair_index(starting, shared, embedder) is None
    gen = CandidateGenerator.open(shared, starting, repair=True)

    assert "new-1" in gen.catalog and gen.store.count() == len(catalog) + 1
    assert "new-1" in connect(shared, catalog.name).stored_metadata(index_module.HASH_FIELD)
