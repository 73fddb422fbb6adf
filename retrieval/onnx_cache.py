"""The ONNX graphs of the embedding model kept in the data dir between starts, and checked without torch.

Exporting and checking the graphs needs the model loaded in sentence-transformers and torch, whose
imports alone cost ~9 s of CPU on 2 cores: most of a warm start. So the first process that exports and
checks them also writes a record beside them: the probe texts' token arrays from sentence-transformers'
tokenizer and their vectors from the torch forward, with a hash of each graph. A later start loads the
graphs with the standalone `tokenizers` tokenizer and runs the same check (`onnx_forward.mismatch`)
against that record instead of against torch; anything that differs (another graph, tokenizer or
runtime) sends the caller back to exporting with torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
from recassist.retrieval.onnx_forward import INPUTS, OnnxForward, mismatch

log = logging.getLogger(__name__)
RECORD = "probes"  # the record's kind in file names
# Which int8 form of the graph serves request texts (`onnx_forward.INT8_FORMS`), as the record keeps it:
EIGHT_BIT, SEVEN_BIT = "8-bit", "7-bit"
NO_INT8 = "none"  # neither gives torch's vectors on this CPU: request texts use the float graph


def int8_file(reduce_range: bool) -> str:
    """The kind, in file names, of the int8 graph with 7-bit (`reduce_range`) or 8-bit weights."""
    return "int8-7bit" if reduce_range else "int8"


def _versions() -> str:
    """Runtime versions in file names: a graph exported by another torch or run by another onnxruntime is
    made afresh. Read from package metadata, which costs nothing, rather than by importing torch."""
    return f"ort{metadata.version('onnxruntime')}-torch{metadata.version('torch')}"


class GraphCache:
    """The float and int8 graphs of one embedding model (`embedder_name`) in `folder`, and their record.

    `folder` None: nothing is kept (every process exports its own graphs).
    """

    def __init__(self, folder: Path | None, embedder_name: str) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.embedder_name = embedder_name

    def path(self, kind: str) -> Path | None:
        """File of `kind` ("float", `int8_file(...)` or `RECORD`); None without a folder or onnxruntime / torch."""
        if self.folder is None:
            return None
        try:
            versions = _versions()
        except metadata.PackageNotFoundError:
            return None
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.embedder_name}-{kind}-{versions}")
        return self.folder / f"onnx-{safe}.{'npz' if kind == RECORD else 'onnx'}"

    def get(self, kind: str, make: Callable[[], bytes]) -> bytes | None:
        """The `kind` graph from the folder, else `make()` (saved there); None when making fails."""
        path = self.path(kind)
        if path is not None and path.is_file():
            return path.read_bytes()
        try:
            graph = make()
        except Exception:  # noqa: BLE001 - onnx_forward.build logs why and returns None
            return None
        if path is not None and graph:
            _write_atomically(path, graph)
        return graph

    def forget(self) -> None:
        for kind in ("float", int8_file(False), int8_file(True), RECORD):
            path = self.path(kind)
            if path is not None:
                path.unlink(missing_ok=True)

    def save_record(self, record: dict[str, np.ndarray], max_length: int, float_graph: bytes,
                    int8_graph: bytes | None, int8_form: str = "") -> None:
        """Keep what the probes gave in torch (`onnx_forward.probe_record`) for the graphs just checked.
        `int8_form`: the int8 form that passed (`EIGHT_BIT` / `SEVEN_BIT`, `int8_graph` is it), `NO_INT8`
        when none did, "" when none was tried."""
        path = self.path(RECORD)
        if path is None:
            return
        extra = {"max_length": np.int64(max_length), "float_sha": np.str_(_sha(float_graph)),
                 "int8_sha": np.str_(_sha(int8_graph) if int8_graph else ""), "int8_form": np.str_(int8_form)}
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **record, **extra)
        tmp.replace(path)  # whole or absent

    def load_checked(self, model_path: Path, *, int8: bool
                     ) -> tuple[OnnxForward, OnnxForward | None, int, str] | None:
        """(float forward, int8 forward or None, vector dim, int8 form) from the folder, each checked against
        the record with a standalone tokenizer; None (reason logged) when anything is missing or differs, or
        when `int8` is asked for and no int8 form was tried yet. The int8 form is as `save_record` takes it;
        with `NO_INT8` request texts use the float forward."""
        record_path = self.path(RECORD)
        if record_path is None or not record_path.is_file():
            return None
        try:
            with np.load(record_path) as f:
                record = {k: f[k] for k in f.files}
            # Records written before there were two int8 forms held the 8-bit one, or none tried.
            form = str(record["int8_form"]) if "int8_form" in record else (EIGHT_BIT if str(record["int8_sha"]) else "")
            if int8 and not form:
                return None
            kinds = ["float"] + ([int8_file(form == SEVEN_BIT)] if int8 and form != NO_INT8 else [])
            paths = [self.path(kind) for kind in kinds]
            if any(p is None or not p.is_file() for p in paths):
                return None
            tokenize = standalone_tokenizer(model_path, int(record["max_length"]))
            forwards = []
            for kind, path in zip(kinds, paths, strict=True):
                graph = path.read_bytes()
                if _sha(graph) != str(record["float_sha" if kind == "float" else "int8_sha"]):
                    log.info("ONNX %s graph does not match its record: exporting afresh", kind)
                    return None
                forward = OnnxForward(tokenize, graph)
                problem = mismatch(forward, record, int8=kind != "float")
                if problem:
                    log.info("cached ONNX graphs not used: %s", problem)
                    return None
                forwards.append(forward)
        except Exception as e:  # noqa: BLE001 - a damaged or foreign file: export afresh
            log.info("cached ONNX graphs not used (%s: %s)", type(e).__name__, e)
            return None
        return forwards[0], (forwards[1] if len(forwards) > 1 else None), int(record["0/vectors"].shape[1]), \
            (form if int8 else "")


def standalone_tokenizer(model_path: Path, max_length: int) -> Callable[[list[str]], dict[str, np.ndarray]]:
    """The model folder's `tokenizer.json` run by the `tokenizers` library alone (no transformers import):
    truncated to `max_length` tokens, padded to the longest text, as sentence-transformers calls it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    padding = tokenizer.padding or {}
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_type_id=padding.get("pad_type_id", 0),
                             pad_token=padding.get("pad_token", "[PAD]"))  # no fixed length: the longest text
    fields = dict(zip(INPUTS, ("ids", "type_ids", "attention_mask"), strict=True))

    def tokenize(texts: list[str]) -> dict[str, np.ndarray]:
        encoded = tokenizer.encode_batch(texts)
        return {name: np.array([getattr(e, attr) for e in encoded], dtype=np.int64) for name, attr in fields.items()}

    return tokenize


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # whole or absent: never half a graph
