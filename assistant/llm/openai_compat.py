"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server) through the `openai` SDK."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
from recassist.assistant.llm.base import ChatMessage, LLMClient
from recassist.assistant.llm.formats import (
    JSON_MODES,
    TOOL_CHOICES,
    is_format_refusal,
    is_tool_refusal,
    response_format,
)
from recassist.assistant.llm.tools import Tool, ToolCall, parse_tool_call
from recassist.foundation.errors import ConfigError, LLMError, LLMTimeoutError


class OpenAICompatibleClient(LLMClient):
    """Structured output via `json_schema` where the endpoint accepts it, else JSON mode, else plain text;
    native tool calling with `tool_choice` "required", else "auto", else none (`call_tool` returns None).

    What the endpoint supports is learnt from its first refusal and remembered,
    so a server without schema or tool support costs one extra round trip, once.
    """

    backend = "openai"
    judgement_weight = 0.6

    def __init__(
        self, model: str, *, base_url: str | None = None, api_key: str | None = None, timeout_s: float = 30.0,
        max_reasks: int = 2, http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(model, timeout_s=timeout_s, max_reasks=max_reasks)
        try:
            import openai
        except ImportError:
            raise ConfigError("the openai backend needs the 'openai' package: pip install openai") from None
        self._openai = openai
        # Retries are ours (re-asks); the SDK's own retries would multiply the timeout.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=0,
            http_client=http_client,
        )
        self._json_modes = list(JSON_MODES)
        self._tool_choices = list(TOOL_CHOICES)  # emptied when the endpoint refuses tools altogether

    def complete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict | None = None, max_tokens: int = 256,
        timeout_s: float | None = None,
    ) -> str:
        openai = self._openai
        while True:
            mode = self._json_modes[0] if json_schema is not None else "none"
            kwargs: dict = {}
            fmt = response_format(mode, json_schema or {})
            if fmt is not None:
                kwargs["response_format"] = fmt
            try:
                resp = self._client.chat.completions.create(
                    model=self.model, messages=[m.as_dict() for m in messages], max_tokens=max_tokens,
                    temperature=0, timeout=timeout_s or self.timeout_s, **kwargs,
                )
            except openai.APITimeoutError:
                raise LLMTimeoutError(
                    f"no answer within {timeout_s or self.timeout_s:.1f} s", backend=self.backend, model=self.model
                ) from None
            except openai.APIStatusError as e:
                if mode != "none" and len(self._json_modes) > 1 and is_format_refusal(e.status_code, _message(e)):
                    self._json_modes.pop(0)  # endpoint refused this response_format: downgrade for good
                    continue
                raise LLMError(f"endpoint answered {e.status_code}: {_message(e)}", backend=self.backend,
                               model=self.model) from None
            except openai.APIError as e:
                raise LLMError(f"endpoint unreachable: {e}", backend=self.backend, model=self.model) from None
            if not resp.choices:
                raise LLMError("endpoint returned no choices", backend=self.backend, model=self.model)
            return resp.choices[0].message.content or ""

    def call_tool(
        self, messages: Sequence[ChatMessage], tools: Sequence[Tool], *, max_tokens: int = 128,
        timeout_s: float | None = None,
    ) -> ToolCall | None:
        openai = self._openai
        while self._tool_choices:
            choice = self._tool_choices[0]
            self.stats.calls += 1
            try:
                resp = self._client.chat.completions.create(
                    model=self.model, messages=[m.as_dict() for m in messages], max_tokens=max_tokens,
                    temperature=0, timeout=timeout_s or self.timeout_s, tools=[t.openai_schema() for t in tools],
                    tool_choice=choice,
                )
            except openai.APITimeoutError:
                self.stats.failures += 1
                raise LLMTimeoutError(
                    f"no answer within {timeout_s or self.timeout_s:.1f} s", backend=self.backend, model=self.model
                ) from None
            except openai.APIStatusError as e:
                if is_tool_refusal(e.status_code):
                    self._tool_choices.pop(0)  # this tool_choice (or tools at all) refused: downgrade for good
                    continue
                self.stats.failures += 1
                raise LLMError(f"endpoint answered {e.status_code}: {_message(e)}", backend=self.backend,
                               model=self.model) from None
            except openai.APIError as e:
                self.stats.failures += 1
                raise LLMError(f"endpoint unreachable: {e}", backend=self.backend, model=self.model) from None
            calls = resp.choices[0].message.tool_calls if resp.choices else None
            if not calls:
                return None  # answered in text: the endpoint ignores tools (no function-calling template)
            try:
                return parse_tool_call(calls[0].function.name, calls[0].function.arguments, list(tools),
                                       backend=self.backend, model=self.model)
            except LLMError:
                self.stats.failures += 1
                raise
        return None

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, timeout_s: float | None = None
    ) -> Iterator[str]:
        openai = self._openai
        try:
            for chunk in self._client.chat.completions.create(
                model=self.model, messages=[m.as_dict() for m in messages], max_tokens=max_tokens, temperature=0,
                timeout=timeout_s or self.timeout_s, stream=True,
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.APITimeoutError:
            raise LLMTimeoutError("stream timed out", backend=self.backend, model=self.model) from None
        except openai.APIError as e:
            raise LLMError(f"stream failed: {e}", backend=self.backend, model=self.model) from None


def _message(e: Exception) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(e)[:300]
