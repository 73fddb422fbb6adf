"""The `Embedder` seam: text in, L2-normalised float32 vectors out.

Backends register in `EMBEDDERS` by name; `retrieval.embedders.get_embedder(settings)`
picks one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class Embedder(ABC):
    """Turns texts into unit-length vectors; `name` identifies the model for caches and manifests."""

    #: Stable identifier of the model weights; part of every cache key and index manifest.
    name: str
    #: Vector dimension.
    dim: int

    @abstractmethod
    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Backend work: float array [len(texts), dim]; need not be normalised."""

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed `texts` -> float32 array [n, dim], each row L2-normalised (cosine = dot product).

        An empty sequence gives shape [0, dim]. A bare string is rejected with
        `TypeError` (it would otherwise be embedded character by character).
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not one string")
        items = list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.asarray(self._encode(items, batch_size), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # A zero vector stays zero rather than becoming NaN.
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Request-side texts (searched against item vectors, never stored): `encode` unless a backend
        has a cheaper approximate path for them."""
        return self.encode(texts)

    def queries_name(self) -> str:
        """Identifies the vectors `encode_queries` gives, for caches of them: `name`, plus the approximate
        path's kind where one serves (the same text gets other vectors on another path)."""
        return self.name

    def encode_one(self, text: str) -> np.ndarray:
        """One text -> float32 vector [dim]."""
        return self.encode([text])[0]


EMBEDDERS: dict[str, type[Embedder]] = {}

def register(name: str):
    """Class decorator adding a backend to `EMBEDDERS`."""

    def wrap(cls: type[Embedder]) -> type[Embedder]:
        EMBEDDERS[name] = cls
        return cls

    return wrap
