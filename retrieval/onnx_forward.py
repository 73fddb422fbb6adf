"""MiniLM's forward pass for a few texts in ONNX Runtime: less CPU per request.

A request embeds one to three short texts. PyTorch's eager BERT spends ~6 ms per call on
Python-level dispatch and layer set-up before any arithmetic; ONNX Runtime runs the same graph
without it: one 8-token text measured 9.3 ms in torch and 3.5 ms here, on one core of this machine;
the bench mix of `POST /v1/recommendations` went from 13.4 to 6.7 ms of embedding CPU per request.
For long batches (index builds) torch is as fast or faster, so only small batches come here.

Two graphs: the float one gives torch's vectors (to ~1e-7) and serves small document batches (an
item added through the API must get the vector a full index build would give it); an int8 one,
for request texts only, halves their cost again (1.8 vs 5.0 ms for one text; 74-78 vs 60-70
requests/s on the API bench) at cosine 0.99 to the float vectors, with no measurable loss in the
ReDial eval (see MIN_COSINE_INT8).

Graphs are exported from the loaded sentence-transformers model into memory at start (~1 s, int8
~2 s more; nothing written to disk, so they can never go stale against the model) and checked
against the torch forward on probe texts before use. Any failure (onnx not installed, an
architecture the export does not cover, a mismatch) leaves the caller on torch, with a logged reason.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "token_type_ids", "attention_mask")
# Probe texts for the parity check: padding (different lengths), punctuation, non-ASCII, and one
# past the model's 256-token window (truncation).
PROBES = ["a feel-good comedy", "dark sci-fi like Blade Runner, nothing before 1980", "Amélie",
          "a slow western " * 100]
MAX_DIFF = 1e-4  # float graph, per coordinate of unit vectors; float32 reorderings stay near 1e-6
# int8 graph: measured 0.990-0.995 against torch on request texts; with int8 query vectors the ReDial
# eval (`recassist eval conversation --no-llm`) scored Recall@10 0.071 against 0.070 with float ones.
MIN_COSINE_INT8 = 0.98


class OnnxForward:
    """`forward(texts) -> float32 [len(texts), dim]`, L2-normalised: tokenizer and pooling as the
    sentence-transformers model does them, transformer layers in ONNX Runtime on one thread."""

    def __init__(self, tokenize: Callable[[list[str]], dict[str, np.ndarray]], onnx_bytes: bytes) -> None:
        """`tokenize(texts)`: the model's token arrays (`INPUTS`, int, [len(texts), tokens]), padded."""
        import onnxruntime as ort

        self.tokenize = tokenize
        opts = ort.SessionOptions()
        # One thread, no spinning: requests run side by side, each on one core (see assistant/threads.py).
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def __call__(self, texts: list[str]) -> np.ndarray:
        features = self.tokenize(texts)
        feed = {name: features[name].astype(np.int64) for name in self._inputs}
        return self._session.run(None, feed)[0]


def build(model, *, int8: bool = False, graph: bytes | None = None,
          quantized_graph: bytes | None = None,
          probes: Callable[[], dict[str, np.ndarray]] | None = None) -> OnnxForward | None:
    """The ONNX forward for a sentence-transformers `model`, or None (reason logged) when it cannot be
    built or does not give the torch vectors: within `MAX_DIFF` per coordinate for the float graph,
    cosine >= `MIN_COSINE_INT8` to them for the int8 one. `graph`: a float graph from `export` (to
    export once for both kinds); `quantized_graph`: its int8 form, when already made (`quantized`);
    `probes`: gives `probe_record(model)`, for a caller that checks several graphs against one record."""
    reason = _unsupported(model)
    if reason:
        log.info("embeddings stay on torch: %s", reason)
        return None
    kind = "int8" if int8 else "float"
    # The caller tries another int8 form, or serves queries with the float graph: not torch.
    instead = "request texts use the float graph" if int8 else "embeddings stay on torch"
    try:
        graph = graph or export(model)
        forward = OnnxForward(model_tokenizer(model), (quantized_graph or quantized(graph)) if int8 else graph)
        problem = mismatch(forward, probes() if probes else probe_record(model), int8=int8)
    except Exception as e:  # noqa: BLE001 - any export/runtime problem means: keep using torch
        log.warning("%s: ONNX %s graph failed (%s: %s)", instead, kind, type(e).__name__, e)
        return None
    if problem:
        log.log(logging.INFO if int8 else logging.WARNING, "%s: %s", instead, problem)
        return None
    return forward


def _probe_batches() -> list[list[str]]:
    return [PROBES, *([p] for p in PROBES)]  # padded together, and each alone (no padding)


def probe_record(model) -> dict[str, np.ndarray]:
    """What the probes must give: sentence-transformers' token arrays and torch's vectors for each probe
    batch (keys '<batch>/<input name>' and '<batch>/vectors'). Kept beside cached graphs, it lets a later
    process check them without loading torch (`retrieval.onnx_cache`)."""
    import torch

    record: dict[str, np.ndarray] = {}
    for b, batch in enumerate(_probe_batches()):
        features = _preprocess(model)(batch)
        for name in INPUTS:
            record[f"{b}/{name}"] = features[name].numpy()
        with torch.inference_mode():
            record[f"{b}/vectors"] = model(features)["sentence_embedding"].numpy()
    return record


def mismatch(forward: OnnxForward, record: dict[str, np.ndarray], *, int8: bool) -> str | None:
    """Why `forward` does not give the recorded tokens and vectors (None when it does): tokens equal;
    float graph within `MAX_DIFF` per coordinate, int8 graph cosine >= `MIN_COSINE_INT8`."""
    diff, cosine = 0.0, 1.0
    for b, batch in enumerate(_probe_batches()):
        ours = forward.tokenize(batch)
        if any(not np.array_equal(record[f"{b}/{name}"], ours[name]) for name in INPUTS):
            return "direct tokenizing differs from sentence-transformers'"
        expected, got = record[f"{b}/vectors"], forward(batch)
        diff = max(diff, float(np.abs(got - expected).max()))
        cosine = min(cosine, float(((got * expected).sum(1) / np.linalg.norm(got, axis=1)
                                    / np.linalg.norm(expected, axis=1)).min()))
    if (int8 and not cosine >= MIN_COSINE_INT8) or (not int8 and not diff <= MAX_DIFF):
        return (f"ONNX {'int8' if int8 else 'float'} vectors differ from torch (max diff {diff:.2g}, "
                f"cosine {cosine:.4f})")
    return None


def model_tokenizer(model) -> Callable[[list[str]], dict[str, np.ndarray]]:
    """The sentence-transformers model's tokenizer called directly, as the model calls it (checked in
    `build`): its generic preprocessing wrapper cost more Python time than the tokenizing itself."""
    tokenizer, max_length = model.tokenizer, model[0].max_seq_length

    def tokenize(texts: list[str]) -> dict[str, np.ndarray]:
        return tokenizer(texts, padding=True, truncation="longest_first", max_length=max_length,
                         return_tensors="np")

    return tokenize


def _unsupported(model) -> str | None:
    """Why the export below does not cover `model` (None when it does): it handles exactly
    Transformer -> mean Pooling [-> Normalize], the layout of all-MiniLM-L6-v2 and its relatives."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import onnxruntime  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed"
    names = [type(m).__name__ for m in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"module layout {names} is not Transformer -> Pooling [-> Normalize]"
    mode = getattr(model[1], "pooling_mode", None) or model[1].get_pooling_mode_str()
    if mode != "mean":
        return f"pooling mode {mode!r} is not 'mean'"
    return None


def _preprocess(model):
    return getattr(model, "preprocess", None) or model.tokenize


#: The int8 forms tried in turn, as `quantized`'s `reduce_range`; the first that passes the check serves.
#: On a CPU without VNNI (AVX2 only: seen on an AMD EPYC), onnxruntime multiplies unsigned 8-bit
#: activations by signed 8-bit weights in 16-bit sums that saturate: the plain per-channel graph gave
#: cosine 0.964 to torch there (0.99 on a VNNI CPU). Weights kept to 7 bits cannot saturate: cosine 0.9846
#: on that machine. The 8-bit form stays first: where it passes it is the more accurate one.
INT8_FORMS = (False, True)


def quantized(graph: bytes, reduce_range: bool = False) -> bytes:
    """`graph` with int8 weights (per output channel; 7-bit with `reduce_range`, see `INT8_FORMS`) and
    dynamically quantized activations: the matrix products run on int8 instructions (VNNI where the CPU
    has it)."""
    import tempfile
    from pathlib import Path

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="recassist-int8-") as tmp, _quiet_root_logger():
        out = Path(tmp) / "int8.onnx"  # the quantizer writes only to a path
        quantize_dynamic(onnx.load_from_string(graph), out, weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=reduce_range)
        return out.read_bytes()


@contextmanager
def _quiet_root_logger():
    """The quantizer logs advice ("consider pre-processing") on the root logger: not for our users."""
    root = logging.getLogger()

    def drop(record: logging.LogRecord) -> bool:
        return not record.name == "root" or record.levelno > logging.WARNING

    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def export(model) -> bytes:
    """The transformer plus mean pooling and L2 normalisation as an ONNX graph, in memory."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, token_type_ids, attention_mask):
            tokens = self.transformer(
                input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    wrapped = MeanPooled(model[0].auto_model).eval()
    sample = _preprocess(model)(PROBES[:2])  # two lengths: the export sees a padded batch
    args = tuple(sample[name] for name in INPUTS)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"embedding": {0: "batch"}}
    buffer = io.BytesIO()
    # The tracer warns about Python-level branches in transformers' mask code; for an encoder they
    # are constant (no causal mask, no KV offset), and the parity check in `build` backs that up.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped, args, buffer, input_names=list(INPUTS), output_names=["embedding"],
            dynamic_axes=dynamic, opset_version=17, dynamo=False,
        )
    return buffer.getvalue()
