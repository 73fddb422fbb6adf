"""Store contract: the same tests against an embedded PersistentClient and a real `chroma run` server."""

from __future__ import annotations

import subprocess
import uuid

import numpy as np
import pytest
import real_servers
from catalog_slices import share_embedding_graphs
from recassist.foundation.catalog import Item
from recassist.foundation.errors import StateMismatchError
from recassist.foundation.settings import Settings
from recassist.retrieval.filters import parse_filter
from recassist.retrieval.index import build_index, delete_items, open_index, upsert_items
from recassist.retrieval.item_vectors import item_vectors
from recassist.retrieval.store import Manifest, VectorStore, connect
from retrieval_fixtures import make_catalog


class InterruptedStore(VectorStore):
    """A real store whose writes die after the first chunk, as a killed `index build` would."""

    def max_batch(self) -> int:
        return 5

    def upsert(self, ids, vectors, metadatas, documents=None, on_chunk=None):
        super().upsert(ids[:5], vectors[:5], metadatas[:5])
        raise KeyboardInterrupt("killed mid-build")


class StoreContract:
    """Every store location must pass these. Subclasses provide the `settings` fixture."""

    @pytest.fixture
    def catalog(self):
        # A fresh collection name per test: a server is shared by the whole class.
        return make_catalog(name=f"tiny-{uuid.uuid4().hex[:8]}")

    def test_build_open_query_and_warm_rebuild(self, catalog, settings, embedder):
        report = build_index(catalog, settings, embedder)
        assert (report.mode, report.upserted) == ("cold", len(catalog))
        store = open_index(catalog, settings, embedder)
        assert store.count() == len(catalog)
        ids, vecs = item_vectors(catalog, settings, embedder)
        hits = store.query(vecs[[ids.index("1")]], 3)[0]
        assert hits[0][0] == "1" and hits[0][1] == pytest.approx(1.0, abs=1e-4)
        assert {i for i, _ in hits[1:]} <= {"2", "3", "4"}  # the other space films
        assert build_index(catalog, settings, embedder).mode == "unchanged"

    def test_where_matches_the_numpy_mask(self, catalog, settings, embedder):
        from recassist.retrieval.catalog_arrays import CatalogArrays

        build_index(catalog, settings, embedder)
        store = open_index(catalog, settings, embedder)
        arrays = CatalogArrays.build(catalog)
        probe = np.ones((1, embedder.dim), np.float32) / np.sqrt(embedder.dim)
        for spec in (
            {"year": {"$gte": 2000, "$lte": 2010}},
            {"year": {"$ne": 2001}},
            {"genre": {"$nin": ["Horror", "Comedy"]}},
            {"genre": {"$in": ["Horror", "Crime"]}},
            {"genre": "Sci-Fi", "item_id": {"$nin": ["1"]}},
        ):
            flt = parse_filter(spec, catalog)
            from_store = {i for i, _ in store.query(probe, 100, flt.where())[0]}
            from_mask = {arrays.ids[r] for r in np.flatnonzero(flt.mask(arrays))}
            assert from_store == from_mask, spec
            assert all(flt.matches(catalog.items[i]) for i in from_store)

    def test_upsert_and_delete_single_items(self, catalog, settings, embedder):
        build_index(catalog, settings, embedder)
        moon = Item(
            item_id="100", title="Moon Base Alpha", year=2009, genres=("Sci-Fi",), tags=("moon", "space")
        )
        bigger = upsert_items(catalog, [moon], settings, embedder)
        store = open_index(bigger, settings, embedder)  # manifest follows the update
        assert store.count() == len(catalog) + 1
        q = embedder.encode(["a base on the moon"])
        assert store.query(q, 1)[0][0][0] == "100"
        smaller = delete_items(bigger, ["100", "16"], settings, embedder)
        store = open_index(smaller, settings, embedder)
        assert store.count() == len(catalog) - 1
        assert "100" not in {i for i, _ in store.query(q, 20)[0]}

    def test_new_genre_rewrites_every_items_flags(self, catalog, settings, embedder):
        build_index(catalog, settings, embedder)
        west = Item(item_id="200", title="Dusty Trail", year=1960, genres=("Western",), tags=("cowboys",))
        bigger = upsert_items(catalog, [west], settings, embedder)
        store = open_index(bigger, settings, embedder)
        flt = parse_filter({"genre": {"$nin": ["Western"]}}, bigger)
        got = {i for i, _ in store.query(embedder.encode(["cowboys"]), 50, flt.where())[0]}
        assert got == set(catalog.items)  # old items carry the new flag (False), the western is out

    def test_changed_catalog_is_refused_then_updated_incrementally(self, catalog, settings, embedder):
        build_index(catalog, settings, embedder)
        changed = make_catalog(
            [catalog.items["3"].model_copy(update={"tags": ("mars", "terraforming")})], name=catalog.name
        )
        with pytest.raises(StateMismatchError, match="other catalog items.*recassist index build"):
            open_index(changed, settings, embedder)
        report = build_index(changed, settings, embedder)
        assert (report.mode, report.upserted, report.deleted) == ("update", 1, 0)
        open_index(changed, settings, embedder)

    def test_other_embedding_model_is_refused_then_rebuilt(self, catalog, settings, embedder):
        build_index(catalog, settings, embedder)
        store = connect(settings, catalog.name)
        old = store.manifest()
        store.write_manifest(Manifest(**{**old.__dict__, "embedding_model": "st:some-other-model:00000000"}))
        with pytest.raises(StateMismatchError, match="embedding model st:some-other-model"):
            open_index(catalog, settings, embedder)
        assert build_index(catalog, settings, embedder).mode == "cold"

    def test_interrupted_build_is_reported_then_resumed(self, catalog, settings, embedder):
        client = connect(settings, catalog.name)
        broken = InterruptedStore(client.client, client.name, client.where)
        with pytest.raises(KeyboardInterrupt):
            build_index(catalog, settings, embedder, store=broken)
        with pytest.raises(StateMismatchError, match="incomplete.*recassist index build"):
            open_index(catalog, settings, embedder)
        report = build_index(catalog, settings, embedder)
        assert (report.mode, report.upserted) == ("resume", len(catalog) - 5)
        assert open_index(catalog, settings, embedder).count() == len(catalog)

    def test_missing_index_names_the_fix(self, catalog, settings, embedder):
        with pytest.raises(StateMismatchError, match="no item index.*recassist index build"):
            open_index(catalog, settings, embedder)


class TestPersistentStore(StoreContract):
    @pytest.fixture
    def settings(self, tmp_path):
        return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server on a free local port, stopped at the end of the module."""
    with real_servers.chroma_server(tmp_path_factory.mktemp("chroma-server") / "chroma") as url:
        yield url


class TestServerStore(StoreContract):
    @pytest.fixture
    def settings(self, tmp_path, chroma_server):
        return Settings(data_dir=tmp_path / "data", chroma_url=chroma_server)


KILL_SCRIPT = """
import os, signal, sys
sys.path[:0] = [{root!r}, {here!r}]
from retrieval_fixtures import make_catalog
from recassist.foundation.settings import Settings
from recassist.retrieval.index import build_index
from recassist.retrieval.store import VectorStore, connect

class KilledStore(VectorStore):
    def max_batch(self):
        return 5
    def upsert(self, ids, vectors, metadatas, documents=None, on_chunk=None):
        super().upsert(ids[:5], vectors[:5], metadatas[:5])
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: what `kill -9` does

settings = Settings(data_dir={data!r})
base = connect(settings, "tiny")
build_index(make_catalog(), settings, store=KilledStore(base.client, base.name, base.where))
"""


@pytest.mark.slow
def test_build_killed_with_sigkill_is_refused_then_completed(tmp_path, embedder):
    """A real process killed mid-write: the embedded store must reopen, say so, and finish on rerun."""
    import signal
    import sys
    from pathlib import Path

    here = Path(__file__).parent
    data = tmp_path / "data"
    # The embedder's checked graphs in the data dir, as an earlier `index build` leaves them: the killed
    # process embeds without exporting them with torch first.
    share_embedding_graphs(Settings(data_dir=data))
    script = KILL_SCRIPT.format(root=str(here.parents[1]), here=str(here), data=str(data))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]

    settings = Settings(data_dir=data)
    catalog = make_catalog()
    with pytest.raises(StateMismatchError, match="incomplete"):
        open_index(catalog, settings, embedder)
    report = build_index(catalog, settings, embedder)
    assert report.mode == "resume" and report.upserted <= len(catalog) - 5
    assert open_index(catalog, settings, embedder).count() == len(catalog)
