"""Embeddings of request-side texts (raw request text, aspect queries, themes), remembered per process.

One MiniLM call costs several ms of CPU per text, and most request-side texts repeat: aspect queries
("Genres: Comedy.") and themes come from a small vocabulary, and a client retrying or paging sends
the same text again. Every part of a request that embeds text (candidate search, the engine's theme
score, the ranker's aspect score) shares one `QueryEncoder`, so a text is embedded once per process
while it stays among the most recently used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from recassist.retrieval.embed_batcher import EmbedBatcher
from recassist.retrieval.embedder import Embedder

DEFAULT_SIZE = 4096  # texts kept; 4096 x 384 float32 is 6 MB


class QueryEncoder:
    """`encode(texts) -> float32 [len(texts), dim]` (L2-normalised), with an LRU of `size` texts.

    Thread-safe: the lock guards only the dictionary, never the model call. Texts not remembered
    go through an `EmbedBatcher`, so concurrent requests share forward passes; two requests
    missing the same text may both ask for it, which costs time, not correctness.
    """

    def __init__(self, embedder: Embedder, size: int = DEFAULT_SIZE) -> None:
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._batcher = EmbedBatcher(embedder)

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def remember(self, text: str, vector: np.ndarray) -> None:
        """Keep `vector` as `text`'s, embedded elsewhere by this embedder's `encode_queries` (so the same
        vector `encode` would compute): training replays texts whose vectors it already holds."""
        vector = np.array(vector, np.float32)  # a copy: the cache's rows are read-only
        if vector.shape != (self.dim,):
            raise ValueError(f"a vector of shape {vector.shape} for a {self.dim}-wide embedder")
        vector.setflags(write=False)
        self._store({text: vector})

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, in order; texts not remembered are embedded in one batch."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not one string")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                v = self._cache.get(t)
                if v is not None:
                    self._cache.move_to_end(t)
                    found[t] = v
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = self._batcher.encode(missing)
            fresh.setflags(write=False)  # rows are shared between requests
            new = dict(zip(missing, fresh, strict=True))
            found.update(new)
            self._store(new)
        return np.stack([found[t] for t in texts])

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep `vectors` as the most recently used, dropping the least recently used beyond `size`."""
        with self._lock:
            for t, v in vectors.items():
                self._cache[t] = v
                self._cache.move_to_end(t)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
