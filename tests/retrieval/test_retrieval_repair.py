"""Start-up finishes a catalog update that a crash interrupted, so no manual `recassist index build` is needed."""

from __future__ import annotations

import pytest
from recassist.foundation.catalog import Item
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
