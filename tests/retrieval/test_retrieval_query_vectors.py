"""QueryEncoder: the request-side embedding cache returns the embedder's vectors, in order, bounded."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from recassist.retrieval.embedder import Embedder
from recassist.retrieval.query_vectors import QueryEncoder


class CountingEmbedder(Embedder):
    """Deterministic vectors from the text's characters; counts the texts it was asked to embed."""

    name = "counting"
    dim = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), sum(map(ord, t)) % 7, 1.0, t.count("a")] for t in texts], dtype=np.float32)


def test_same_vectors_as_the_embedder_in_one_batch_per_call():
    emb = CountingEmbedder()
    enc = QueryEncoder(emb)
    texts = ["comedy", "a heist", "comedy", "Genres: Drama."]
    np.testing.assert_array_equal(enc.encode(texts), emb.encode(texts))
    assert emb.seen == ["comedy", "a heist", "Genres: Drama.", *texts]  # duplicates embedded once
    emb.seen.clear()
    np.testing.assert_array_equal(enc.encode(["Genres: Drama.", "new"]), emb.encode(["Genres: Drama.", "new"]))
    assert emb.seen[:1] == ["new"]  # only the text not seen before
    assert enc.encode([]).shape == (0, 4)
    with pytest.raises(TypeError):
        enc.encode("one string")


def test_remembered_vectors_are_served_without_embedding_and_bounded():
    emb = CountingEmbedder()
    enc = QueryEncoder(emb, size=2)
    given = emb.encode(["a heist"])[0]
    emb.seen.clear()
    enc.remember("a heist", given)
    np.testing.assert_array_equal(enc.encode(["a heist"]), given[None, :])
    assert emb.seen == []
    enc.remember("b", emb.encode(["b"])[0])
    enc.remember("c", emb.encode(["c"])[0])  # evicts "a heist"
    emb.seen.clear()
    enc.encode(["a heist"])
    assert emb.seen == ["a heist"]
    with pytest.raises(ValueError, match="shape"):
        enc.remember("wrong width", np.zeros(5, np.float32))


def test_keeps_the_most_recently_used():
    emb = CountingEmbedder()
    enc = QueryEncoder(emb, size=2)
    enc.encode(["a"])
    enc.encode(["b"])
    enc.encode(["a"])  # "a" is now the most recent
    enc.encode(["c"])  # evicts "b"
    emb.seen.clear()
    enc.encode(["a", "c"])
    assert emb.seen == []
    enc.encode(["b"])
    assert emb.seen == ["b"]


def test_concurrent_callers_get_their_own_vectors():
    emb = CountingEmbedder()
    enc = QueryEncoder(emb, size=8)
    texts = [f"text {i} {'a' * (i % 5)}" for i in range(40)]
    expected = {t: emb.encode([t])[0] for t in texts}
    errors: list[str] = []

    def worker(offset: int) -> None:
        for j in range(200):
            batch = [texts[(offset + j + d) % len(texts)] for d in range(3)]
            got = enc.encode(batch)
            if not all(np.array_equal(v, expected[t]) for t, v in zip(batch, got, strict=True)):
                errors.append(f"wrong vector for {batch}")

    threads = [threading.Thread(target=worker, args=(i * 7,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


class SlowEmbedder(CountingEmbedder):
    """Takes 50 ms per call, so callers arriving meanwhile queue up; records each call's texts."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def _encode(self, texts, batch_size):
        import time

        self.calls.append(list(texts))
        time.sleep(0.05)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return super()._encode(texts, batch_size)


def _in_threads(fn, args_list):
    results: dict[int, object] = {}

    def run(i, args):
        try:
            results[i] = fn(*args)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in range(len(args_list))]


def test_batcher_embeds_waiting_callers_together():
    from recassist.retrieval.embed_batcher import EmbedBatcher

    emb = SlowEmbedder()
    batcher = EmbedBatcher(emb)
    requests = [[f"text {i}", "shared"] for i in range(8)]
    got = _in_threads(batcher.encode, [(r,) for r in requests])
    for r, vecs in zip(requests, got, strict=True):
        np.testing.assert_array_equal(vecs, CountingEmbedder().encode(r))
    assert len(emb.calls) < len(requests)  # callers that waited shared a pass
    assert sum(t == "shared" for call in emb.calls for t in call) == len(emb.calls)  # once per pass
    assert batcher.encode([]).shape == (0, 4)


def test_batcher_hands_an_error_to_the_callers_of_that_pass_only():
    from recassist.retrieval.embed_batcher import EmbedBatcher

    emb = SlowEmbedder(fail_on="bad")
    batcher = EmbedBatcher(emb)
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.encode(["bad"])
    np.testing.assert_array_equal(batcher.encode(["good"]), CountingEmbedder().encode(["good"]))  # worker lives on
