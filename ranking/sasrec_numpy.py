"""The full SASRec model served without torch: its arrays exported beside the checkpoint, its forward
pass in numpy.

Importing torch costs ~3 s of CPU on 2 cores, a third of a warm start, and serving needs none of it:
a request runs one short forward pass per member (`ranking.sasrec_model`, here the same float32
arithmetic in numpy) and dot products with the item vectors. So `ranker.pt` gets a companion,
`ranker.serving.npz`: every member's weights and token table, the item vectors, text and counts, the
count blend's state and what the server reports (validation NDCG@10), stamped with the checkpoint's
size and modification time. It is written by the process that finishes training or first loads the
checkpoint with torch, atomically; a stamp that does not match (a retrained `ranker.pt`) means it is
ignored and rewritten.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from recassist.ranking.ease_blend import EaseBlend
from recassist.ranking.sasrec_config import SASRecConfig
from recassist.ranking.sasrec_scoring import SASRecScoring, TextEncoder
from recassist.ranking.storage import flatten_state, unflatten_state

FORMAT = 1
LN_EPS = 1e-5  # torch.nn.LayerNorm's default


def serving_path(checkpoint: Path | str) -> Path:
    """`ranker.pt` -> `ranker.serving.npz`."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}.serving.npz")


def _stamp(checkpoint: Path) -> str:
    st = checkpoint.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def export(ranker: Any, checkpoint: Path | str, info: dict[str, Any]) -> Path:
    """Write `ranker`'s (a fitted `SASRecRanker` loaded from `checkpoint`) serving arrays beside it;
    `info`: what the server reports about it (e.g. 'valid_ndcg@10'). Returns the path written."""
    checkpoint = Path(checkpoint)
    arrays: dict[str, np.ndarray] = {"items": ranker._items, "text": ranker._text, "counts": ranker._counts}
    for m, (net, table) in enumerate(zip(ranker.nets, ranker._tables, strict=True)):
        for name, tensor in net.state_dict().items():
            arrays[f"m{m}/{name}"] = tensor.numpy()
        arrays[f"m{m}/table"] = table.numpy()
    blend: dict[str, Any] = {}
    if ranker._blend is not None:
        blend = flatten_state("blend", ranker._blend.state(), arrays)
    meta = {"format": FORMAT, "source": _stamp(checkpoint), "config": ranker.config.as_dict(),
            "catalog_version": ranker.catalog_version, "text_model": ranker.text_model,
            "item_ids": list(ranker.item_ids), "members": len(ranker.nets), "blend": blend, "info": info}
    arrays["meta"] = np.array(json.dumps(meta))
    path = serving_path(checkpoint)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)  # whole or absent
    return path


def exported_meta(checkpoint: Path | str, catalog_version: str) -> dict[str, Any] | None:
    """The export's metadata when it is current for `checkpoint` and `catalog_version`, else None."""
    checkpoint = Path(checkpoint)
    path = serving_path(checkpoint)
    if not (path.is_file() and checkpoint.is_file()):
        return None
    try:
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("format") != FORMAT or meta.get("source") != _stamp(checkpoint) \
            or meta.get("catalog_version") != catalog_version:
        return None
    return meta


def load_exported(checkpoint: Path | str, catalog_version: str,
                  text_encoder: TextEncoder | None = None) -> NumpySASRecRanker | None:
    """The torch-free ranker for `checkpoint` when its export is current, else None."""
    if exported_meta(checkpoint, catalog_version) is None:
        return None
    with np.load(serving_path(checkpoint)) as f:
        arrays = {k: f[k] for k in f.files}
    return NumpySASRecRanker(json.loads(str(arrays.pop("meta"))), arrays, text_encoder)


class NumpySASRecRanker(SASRecScoring):
    """A trained SASRec ensemble (see `SASRecRanker`) scoring in numpy; serving only."""

    name = "sasrec"

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                 text_encoder: TextEncoder | None = None) -> None:
        super().__init__(text_encoder)
        self.config = SASRecConfig(**meta["config"])
        self.catalog_version, self.text_model = meta["catalog_version"], meta["text_model"]
        self._set_vocabulary(meta["item_ids"])
        self.nets = [NumpyNet({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"m{m}/")},
                              self.config) for m in range(int(meta["members"]))]
        self._adopt_arrays(arrays["items"], arrays["text"], arrays["counts"])
        if meta["blend"]:
            self._blend = EaseBlend.from_state(unflatten_state(meta["blend"], arrays), self.item_ids)

    def _ensemble_states(self, histories: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([net.last_states(histories) for net in self.nets], 1) / len(self.nets)

    def fit(self, data, *, progress: bool = False) -> dict[str, Any]:
        raise NotImplementedError("serving only: train with ranking.sasrec.SASRecRanker")

    def save(self, path: Path | str) -> None:
        raise NotImplementedError("serving only: the export is written from a SASRecRanker (`export`)")

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> NumpySASRecRanker:
        from recassist.ranking.storage import CheckpointError

        ranker = load_exported(path, catalog_version or "")
        if ranker is None:
            raise CheckpointError(f"no current serving export beside {path}")
        return ranker


class NumpyNet:
    """One member's forward pass to the state after the newest item (`SASRecNet.hidden_states` with
    `last_only`, in eval mode), from its exported weights; `table` is its padded token table."""

    def __init__(self, weights: dict[str, np.ndarray], config: SASRecConfig) -> None:
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.cfg = config
        self.table = self.w["table"]

    def last_states(self, sequences: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """float32 [len(sequences), d]."""
        outs = [self._last(_pad_left(sequences[i:i + batch_size], self.cfg.max_len))
                for i in range(0, len(sequences), batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0, self.table.shape[1]), np.float32)

    def _last(self, tokens: np.ndarray) -> np.ndarray:
        n, d = tokens.shape[1], self.table.shape[1]
        x = self.table[tokens] * np.float32(math.sqrt(d)) + self.w["pos_emb.weight"][self.cfg.max_len - n:]
        valid = tokens > 0
        mask = None
        if not bool(valid.all()):
            # Real queries never attend to padding; a padding query attends to itself so no row is empty.
            mask = (np.tri(n, dtype=bool)[None] & (valid[:, None, :] | np.eye(n, dtype=bool)[None]))[:, None]
        for i in range(self.cfg.blocks):
            x = self._block(f"blocks.{i}.", x, mask, last_only=i == self.cfg.blocks - 1)
        return _layer_norm(x, self.w["final_ln.weight"], self.w["final_ln.bias"])[:, -1]

    def _block(self, p: str, x: np.ndarray, mask: np.ndarray | None, last_only: bool) -> np.ndarray:
        w, (b, n, d), heads = self.w, x.shape, self.cfg.heads
        qkv = _linear(_layer_norm(x, w[p + "ln1.weight"], w[p + "ln1.bias"]), w[p + "qkv.weight"], w[p + "qkv.bias"])
        q, k, v = qkv.reshape(b, n, 3, heads, d // heads).transpose(2, 0, 3, 1, 4)
        if last_only:
            q, x = q[:, :, -1:], x[:, -1:]
            mask = None if mask is None else mask[..., -1:, :]
        elif mask is None:
            mask = np.tri(n, dtype=bool)
        a = _attention(q, k, v, mask)
        x = x + _linear(a.transpose(0, 2, 1, 3).reshape(b, x.shape[1], d), w[p + "out.weight"], w[p + "out.bias"])
        h = _gelu(_linear(_layer_norm(x, w[p + "ln2.weight"], w[p + "ln2.bias"]), w[p + "ff.0.weight"],
                          w[p + "ff.0.bias"]))
        return x + _linear(h, w[p + "ff.2.weight"], w[p + "ff.2.bias"])


def _pad_left(sequences: list[np.ndarray], max_len: int) -> np.ndarray:
    """As `sasrec_model.pad_left`: tokens int64 [B, L] (index + 1, left-padded with 0, newest max_len kept)."""
    n = max(1, max((min(len(s), max_len) for s in sequences), default=1))
    out = np.zeros((len(sequences), n), dtype=np.int64)
    for r, s in enumerate(sequences):
        s = np.asarray(s, dtype=np.int64)[-max_len:]
        if len(s):
            out[r, n - len(s):] = s + 1
    return out


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x @ weight.T + bias


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(LN_EPS)) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # exact GELU, as torch.nn.GELU()

    return (np.float32(0.5) * x * (np.float32(1.0) + erf(x * np.float32(1 / math.sqrt(2))))).astype(np.float32)


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Scaled dot-product attention [B, H, Lq, dh]; `mask` True where a query may attend."""
    s = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1 / math.sqrt(q.shape[-1]))
    if mask is not None:
        s = np.where(mask, s, np.float32(-np.inf))
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v
