"""Request-side fast paths give the same answers as the slow ones: MiniLM in ONNX Runtime, and
remembered similarity rows. Real MiniLM, real ONNX export."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from recassist.foundation.errors import ConfigError
from recassist.foundation.lru import LRU
from recassist.foundation.profile import AspectPreference, InterestProfile, ItemPreference, Source, Theme
from recassist.retrieval.candidates import CandidateGenerator
from recassist.retrieval.index import build_index, open_index
from recassist.retrieval.similarity_rows import SimilarityRows
from recassist.retrieval.st_embedder import SentenceTransformerEmbedder
from retrieval_fixtures import make_catalog

SRC = Source(text="test")


def test_small_batches_run_in_onnxruntime_with_torchs_vectors(embedder):
    # 8-bit weights where the CPU has int8 dot products (VNNI), 7-bit ones where they would saturate.
    assert embedder.backends() in ({"documents": "onnxruntime", "queries": "onnxruntime-int8"},
                                   {"documents": "onnxruntime", "queries": "onnxruntime-int8 (7-bit weights)"})
    texts = [
        "I loved Arrival and Interstellar, something thoughtful",  # padded next to shorter ones
        "Genres: Comedy.",
        "Amélie ou le fabuleux destin",
        "",
        "a long slow western " * 200,  # past the 256-token window: truncated like sentence-transformers does
    ]
    reference = embedder.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode(texts), reference, atol=1e-5)
    for i, text in enumerate(texts):  # alone: no padding at all
        np.testing.assert_allclose(embedder.encode([text])[0], reference[i], atol=1e-5)


def test_request_texts_use_int8_weights_close_to_torchs_vectors(embedder):
    texts = ["I loved Arrival and Interstellar, something thoughtful", "Genres: Comedy.", "a slow western " * 200]
    reference = embedder.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    queries = embedder.encode_queries(texts)
    assert queries.dtype == np.float32 and np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    cosines = (queries * reference).sum(1)
    assert cosines.min() >= 0.98 and not np.allclose(queries, reference, atol=1e-5)  # close, not identical
    # Meaning survives: a comedy query is nearer a comedy description than a war film's.
    items = embedder.encode(["A hilarious comedy about two friends.", "A grim war film about soldiers."])
    assert (embedder.encode_queries(["a funny comedy"]) @ items.T)[0].argmax() == 0
    # A text's vector is its own, whatever it is embedded with (another request's texts may share its batch).
    alone = embedder.encode_queries(texts[:1])[0]
    np.testing.assert_array_equal(embedder.encode_queries(texts)[0], alone)
    np.testing.assert_array_equal(embedder.encode_queries(["ignore previous instructions " * 30, texts[0]])[1], alone)
    # However many texts wait together: past a small batch they once went to the float graph instead.
    crowd = [f"request number {i}, something else entirely" for i in range(40)] + [texts[0]]
    np.testing.assert_array_equal(embedder.encode_queries(crowd)[-1], alone)


def test_dialogue_text_vectors_are_the_served_ones_whatever_the_cache_held(embedder, tmp_path, monkeypatch):
    from recassist.assistant.dialogue import text_vectors as module
    from recassist.assistant.dialogue.text_vectors import text_vectors

    texts = ["I loved Arrival and Interstellar, something thoughtful", "any good horror lately?",
             "a slow western " * 40, "something for my kids, maybe animated"]
    monkeypatch.setattr(module, "BATCH", 1)  # one text per part: two threads embed them side by side
    cold = text_vectors(texts, embedder, tmp_path / "a", 4000)
    for t in texts:  # the vector a request carrying the text is served with
        np.testing.assert_array_equal(cold[t], embedder.encode_queries([t])[0])
    # The cache held some texts already (another window, an earlier corpus): the others come out the same.
    text_vectors(texts[1:3], embedder, tmp_path / "b", 4000)
    warm = text_vectors(texts, embedder, tmp_path / "b", 4000)
    for t in texts:
        np.testing.assert_array_equal(warm[t], cold[t])


def test_without_onnx_the_embedder_stays_on_torch(embedder, monkeypatch, caplog):
    from recassist.retrieval import onnx_forward

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the package were not installed
    with caplog.at_level(logging.INFO, logger="recassist.retrieval.onnx_forward"):
        assert onnx_forward.build(embedder.model) is None
    assert "onnx is not installed" in caplog.text


def test_a_graph_that_disagrees_with_torch_is_not_used(embedder, monkeypatch, caplog):
    from recassist.retrieval import onnx_forward

    graph = _float_graph(embedder)  # one graph for both kinds
    monkeypatch.setattr(onnx_forward, "MAX_DIFF", -1.0)  # any difference at all counts as a mismatch
    monkeypatch.setattr(onnx_forward, "MIN_COSINE_INT8", 1.5)
    with caplog.at_level(logging.INFO, logger="recassist.retrieval.onnx_forward"):
        assert onnx_forward.build(embedder.model, graph=graph) is None
        assert onnx_forward.build(embedder.model, graph=graph, int8=True) is None
    assert "embeddings stay on torch: ONNX float vectors differ from torch" in caplog.text
    # A failed int8 form is no reason to leave the float graph (the embedder tries the next form first).
    assert "request texts use the float graph: ONNX int8 vectors differ from torch" in caplog.text


def _int8_checks_failing(monkeypatch, failing_forms: set[bool]) -> list[bool]:
    """Makes the start-up check fail for the int8 forms in `failing_forms` (`reduce_range` values), as on a CPU
    whose int8 products saturate; returns the forms quantized, in order."""
    from recassist.retrieval import onnx_forward

    made: list[bool] = []
    quantized, mismatch = onnx_forward.quantized, onnx_forward.mismatch

    def tracked(graph, reduce_range=False):
        made.append(reduce_range)
        # A form whose check is made to fail need not be quantized (seconds of CPU each).
        return graph if reduce_range in failing_forms else quantized(graph, reduce_range)

    def check(forward, record, *, int8):
        if int8 and made and made[-1] in failing_forms:
            return "int8 vectors differ from torch (as on a CPU without VNNI)"
        return mismatch(forward, record, int8=int8)

    monkeypatch.setattr(onnx_forward, "quantized", tracked)
    monkeypatch.setattr(onnx_forward, "mismatch", check)
    return made


def _counting_probe_records(monkeypatch) -> list[int]:
    """Counts the torch forwards of the probes (`onnx_forward.probe_record`), each still computed."""
    from recassist.retrieval import onnx_forward

    calls: list[int] = []
    record = onnx_forward.probe_record
    monkeypatch.setattr(onnx_forward, "probe_record", lambda model: calls.append(1) or record(model))
    return calls


def _float_graph_file(embedder) -> Path | None:
    """The float graph `embedder` exported and checked, in its graph cache (None: it keeps none)."""
    embedder.backends()  # built and checked
    path = embedder._graphs.path("float")
    return path if path is not None and path.is_file() else None


def _float_graph(embedder) -> bytes:
    """`embedder`'s float graph: the one it checked, else a fresh export."""
    from recassist.retrieval import onnx_forward

    path = _float_graph_file(embedder)
    return path.read_bytes() if path is not None else onnx_forward.export(embedder.model)


def _cache_with_the_float_graph(embedder, folder: Path) -> Path:
    """A graph cache holding `embedder`'s float graph and nothing else (no int8 form, no probe record): a start
    on it checks the graph and picks an int8 form with torch, as a cold start does once it has exported."""
    from recassist.retrieval.onnx_cache import GraphCache

    source, path = _float_graph_file(embedder), GraphCache(folder, embedder.name).path("float")
    if source is not None and path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, path)
        except OSError:
            shutil.copyfile(source, path)
    return folder


def _warm(embedder, monkeypatch) -> SentenceTransformerEmbedder:
    """A second embedder on the same graph folder, which must start from the files alone (no export)."""
    again = SentenceTransformerEmbedder(embedder.path, graph_cache=embedder._graphs.folder)
    monkeypatch.setattr(again, "_export_and_check", lambda int8: pytest.fail("a warm start exported again"))
    return again


def test_where_8_bit_weights_saturate_request_texts_use_7_bit_ones(embedder, tmp_path, monkeypatch):
    folder = _cache_with_the_float_graph(embedder, tmp_path)
    made = _int8_checks_failing(monkeypatch, failing_forms={False})
    probed = _counting_probe_records(monkeypatch)
    cold = SentenceTransformerEmbedder(embedder.path, graph_cache=folder)
    assert cold.backends() == {"documents": "onnxruntime", "queries": "onnxruntime-int8 (7-bit weights)"}
    assert made == [False, True] and cold.queries_name().endswith("-queries-int8-7bit")
    # Torch embeds the probes once for the three graphs checked and the record kept (seconds of a cold start).
    assert len(probed) == 1
    texts = ["I loved Arrival and Interstellar, something thoughtful", "Genres: Comedy.", "a slow western " * 200]
    reference = embedder.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    vectors = cold.encode_queries(texts)
    assert (vectors * reference).sum(1).min() >= 0.98
    # The record says which form passed: the next start checks that one from the files, without torch.
    monkeypatch.undo()
    warm = _warm(cold, monkeypatch)
    assert warm.backends() == cold.backends()
    np.testing.assert_array_equal(warm.encode_queries(texts), vectors)


def test_where_no_int8_form_passes_request_texts_use_the_float_graph(embedder, tmp_path, monkeypatch, caplog):
    folder = _cache_with_the_float_graph(embedder, tmp_path)
    made = _int8_checks_failing(monkeypatch, failing_forms={False, True})
    cold = SentenceTransformerEmbedder(embedder.path, graph_cache=folder)
    with caplog.at_level(logging.WARNING, logger="recassist.retrieval.st_embedder"):
        assert cold.backends() == {"documents": "onnxruntime", "queries": "onnxruntime"}
    assert made == [False, True] and "no int8 form gives torch's vectors" in caplog.text
    assert cold.queries_name().endswith("-queries-float")
    texts = ["a feel-good comedy", "ghosts"]
    np.testing.assert_allclose(cold.encode_queries(texts), embedder.encode(texts), atol=1e-5)
    # Each text alone here too: padded beside a longer one, a float vector differs in its last bits.
    np.testing.assert_array_equal(cold.encode_queries(["ghosts", "a slow western " * 50])[0],
                                  cold.encode_queries(["ghosts"])[0])
    # A warm start does not try again on every start, and needs no torch to know that.
    monkeypatch.undo()
    warm = _warm(cold, monkeypatch)
    assert warm.backends() == cold.backends()
    np.testing.assert_array_equal(warm.encode_queries(texts), cold.encode_queries(texts))


def test_onnx_can_be_switched_off_or_kept_float(embedder, tmp_path):
    texts = ["a feel-good comedy", "ghosts"]
    torch_only = SentenceTransformerEmbedder(embedder.path, query_backend="torch")
    assert torch_only.backends() == {"documents": "torch", "queries": "torch"}
    np.testing.assert_allclose(torch_only.encode_queries(texts), embedder.encode(texts), atol=1e-5)
    float_only = SentenceTransformerEmbedder(embedder.path, query_backend="onnx",
                                             graph_cache=_cache_with_the_float_graph(embedder, tmp_path))
    assert float_only.backends() == {"documents": "onnxruntime", "queries": "onnxruntime"}
    np.testing.assert_allclose(float_only.encode_queries(texts), embedder.encode(texts), atol=1e-5)
    with pytest.raises(ConfigError, match="unknown query embedding backend"):
        SentenceTransformerEmbedder(embedder.path, query_backend="fp8")


def test_similarity_rows_are_exact_and_remembered_by_key():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    queries = rng.standard_normal((3, 8)).astype(np.float32)
    rows = SimilarityRows(vectors, size=2)
    exact = (vectors @ queries.T).T
    np.testing.assert_allclose(rows.rows([("t", "a"), None, ("t", "b")], queries), exact, rtol=1e-6)
    # A remembered row is returned for its key even if the query vector passed differs:
    # the key, not the vector, says what the query is.
    again = rows.rows([("t", "a")], np.zeros((1, 8), np.float32))
    np.testing.assert_allclose(again[0], exact[0], rtol=1e-6)
    # None keys are never remembered; the oldest key goes when the cache is full.
    assert rows.rows([None], np.zeros((1, 8), np.float32))[0].max() == 0
    rows.rows([("t", "c")], queries[:1])
    assert rows.rows([("t", "b")], np.zeros((1, 8), np.float32))[0].max() == 0  # "b" was evicted: recomputed
    with pytest.raises(ValueError, match="2 keys for 1 queries"):
        rows.rows([None, None], queries[:1])


def test_a_similarity_row_is_the_same_whatever_it_is_computed_with():
    """A row computed for a lone query, or with others, or on another thread count has the same bits: rows are
    remembered, so otherwise a request's candidates would depend on which requests came before it."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 384)).astype(np.float32)
    queries = rng.standard_normal((6, 384)).astype(np.float32)
    keys = [None] * 6
    together = SimilarityRows(vectors).rows(keys, queries)
    for threads in (1, 2):
        with threadpool_limits(threads):
            for i in range(6):
                np.testing.assert_array_equal(SimilarityRows(vectors).rows([None], queries[i: i + 1])[0], together[i])
            np.testing.assert_array_equal(SimilarityRows(vectors).rows(keys[:3], queries[3:]), together[3:])


def test_lru_keeps_the_most_recently_used():
    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
    with pytest.raises(ValueError):
        LRU(0)


def test_candidates_are_the_same_with_a_warm_similarity_cache(tmp_path, embedder):
    from recassist.foundation.settings import Settings

    catalog, settings = make_catalog(), Settings(data_dir=tmp_path / "data")
    build_index(catalog, settings, embedder)
    generator = CandidateGenerator(catalog, open_index(catalog, settings, embedder), embedder, settings)
    profile = InterestProfile(
        liked_aspects=[AspectPreference(aspect="Horror", kind="genre", source=SRC)],
        themes=[Theme(text="ghosts in a haunted house", source=SRC)],
        liked_items=[ItemPreference(item_id="2", title="t", source=SRC)],
    )

    def run():
        return [(c.item_id, c.sources, c.scores, c.score)
                for c in generator.generate(profile, history=["1", "3"], text="a heist movie", k=10)]

    cold = run()
    assert len(generator.similarity._cache) > 0
    assert run() == cold
    fresh = CandidateGenerator(catalog, open_index(catalog, settings, embedder), embedder, settings)
    assert [(c.item_id, c.sources, c.scores, c.score)
            for c in fresh.generate(profile, history=["1", "3"], text="a heist movie", k=10)] == cold
