"""Any LangChain chat model as an `LLMClient` (so a `BaseChatModel` can be plugged in)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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


class LangChainChatClient(LLMClient):
    """Wraps a LangChain `BaseChatModel`; JSON is asked for in JSON mode and validated by the base class.

    LangChain's own `with_structured_output` can return None against local
    servers and does not re-ask (DESIGN.md), so we keep validation ourselves.
    """

    backend = "langchain"
    judgement_weight = 0.6

    def __init__(self, chat_model, *, model: str = "", timeout_s: float = 30.0, max_reasks: int = 2) -> None:
        super().__init__(model or getattr(chat_model, "model_name", type(chat_model).__name__),
                         timeout_s=timeout_s, max_reasks=max_reasks)
        self.chat_model = chat_model
        self._json_modes = list(JSON_MODES)
        self._tool_choices = list(TOOL_CHOICES)  # emptied when the model or endpoint has no tool calling

    @classmethod
    def openai_compatible(cls, *, base_url: str | None, api_key: str | None, model: str, timeout_s: float,
                          max_reasks: int) -> LangChainChatClient:
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise ConfigError("the langchain backend needs langchain-openai: pip install langchain-openai") from None
        chat = ChatOpenAI(base_url=base_url, api_key=api_key or "not-needed", model=model, timeout=timeout_s,
                          max_retries=0, temperature=0)
        return cls(chat, model=model, timeout_s=timeout_s, max_reasks=max_reasks)

    def _lc_messages(self, messages: Sequence[ChatMessage]):
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        return [kinds[m.role](content=m.content) for m in messages]

    def complete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict | None = None, max_tokens: int = 256,
        timeout_s: float | None = None,
    ) -> str:
        while True:
            mode = self._json_modes[0] if json_schema is not None else "none"
            bind: dict = {"max_tokens": max_tokens}
            fmt = response_format(mode, json_schema or {})
            if fmt is not None:
                bind["response_format"] = fmt
            try:
                reply = self.chat_model.bind(**bind).invoke(self._lc_messages(messages))
                break
            except Exception as e:  # LangChain surfaces provider errors as many types; translate at the seam.
                status = getattr(e, "status_code", 0) or 0
                if mode != "none" and len(self._json_modes) > 1 and is_format_refusal(status, str(e)):
                    self._json_modes.pop(0)
                    continue
                if "timeout" in type(e).__name__.lower() or "timed out" in str(e).lower():
                    raise LLMTimeoutError(f"no answer: {e}", backend=self.backend, model=self.model) from None
                raise LLMError(f"chat model failed: {type(e).__name__}: {str(e)[:300]}", backend=self.backend,
                               model=self.model) from None
        content = reply.content
        return content if isinstance(content, str) else "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )

    def call_tool(
        self, messages: Sequence[ChatMessage], tools: Sequence[Tool], *, max_tokens: int = 128,
        timeout_s: float | None = None,
    ) -> ToolCall | None:
        while self._tool_choices:
            choice = self._tool_choices[0]
            self.stats.calls += 1
            try:
                bound = self.chat_model.bind_tools([t.openai_schema() for t in tools], tool_choice=choice)
                reply = bound.bind(max_tokens=max_tokens).invoke(self._lc_messages(messages))
            except NotImplementedError:  # a chat model without tool calling
                self._tool_choices.clear()
                return None
            except Exception as e:  # provider errors come as many types; translate at the seam
                status = getattr(e, "status_code", 0) or 0
                if is_tool_refusal(status):
                    self._tool_choices.pop(0)
                    continue
                self.stats.failures += 1
                if "timeout" in type(e).__name__.lower() or "timed out" in str(e).lower():
                    raise LLMTimeoutError(f"no answer: {e}", backend=self.backend, model=self.model) from None
                raise LLMError(f"chat model failed: {type(e).__name__}: {str(e)[:300]}", backend=self.backend,
                               model=self.model) from None
            calls = getattr(reply, "tool_calls", None) or []
            bad = getattr(reply, "invalid_tool_calls", None) or []
            if not calls and not bad:
                return None  # answered in text
            try:
                if not calls:  # LangChain could not parse the arguments: let the validator name the problem
                    return parse_tool_call(bad[0].get("name") or "", bad[0].get("args") or "", list(tools),
                                           backend=self.backend, model=self.model)
                return parse_tool_call(calls[0]["name"], calls[0]["args"], list(tools), backend=self.backend,
                                       model=self.model)
            except LLMError:
                self.stats.failures += 1
                raise
        return None

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, timeout_s: float | None = None
    ) -> Iterator[str]:
        try:
            for chunk in self.chat_model.bind(max_tokens=max_tokens).stream(self._lc_messages(messages)):
                if isinstance(chunk.content, str) and chunk.content:
                    yield chunk.content
        except Exception as e:
            raise LLMError(f"chat model stream failed: {str(e)[:300]}", backend=self.backend,
                           model=self.model) from None
