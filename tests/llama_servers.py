"""A real OpenAI-compatible endpoint for tests: llama.cpp's server running the embedded SmolLM2 file."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from recassist.assistant.llm.local import default_model_path

#: llama.cpp's chat format that honours OpenAI `tools` (grammar-constrained function calls).
FUNCTION_CALLING = ("--chat_format", "chatml-function-calling")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(*extra_args: str, threads: int = 1, start_timeout_s: float = 60.0) -> Iterator[str]:
    """Start the server (extra CLI arguments appended), yield its `/v1` base URL, stop it afterwards.

    Skips the calling test when llama-cpp-python's server extras are missing; `RuntimeError` when the
    server does not answer within `start_timeout_s`.
    """
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python's server extras (sse-starlette)")
    port = _free_port()
    args = ["--model", str(default_model_path()), "--host", "127.0.0.1", "--port", str(port), "--n_threads",
            str(threads), "--n_ctx", "2048", *extra_args]
    # The server loads the model as the embedded backend does: without weight repacking (see
    # `disable_weight_repacking`: it dies with SIGILL on hosts that advertise AMX without enabling it).
    launcher = (
        "import runpy, sys; from recassist.assistant.llm.local import disable_weight_repacking; "
        "disable_weight_repacking(); sys.argv = ['llama_cpp.server', *sys.argv[1:]]; "
        "runpy.run_module('llama_cpp.server', run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher, *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"llama.cpp server did not start within {start_timeout_s:.0f} s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
