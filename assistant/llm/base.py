"""The `LLMClient` seam: one required method, conveniences (validation, re-asks) on top.

Backends only turn messages into text. Everything that makes LLM output safe
to use — JSON-schema validation, re-asking with the validation error, typed
errors — lives here once, so every backend behaves the same.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from recassist.foundation.errors import LLMOutputError
from recassist.foundation.messages import ChatMessage

if TYPE_CHECKING:
    from recassist.assistant.llm.tools import Tool, ToolCall

T = TypeVar("T", bound=BaseModel)


@dataclass
class LLMCallStats:
    """Counters a caller can read to report how often the LLM was asked and re-asked."""

    calls: int = 0
    reasks: int = 0
    failures: int = 0
    seconds: float = 0.0


class LLMClient(ABC):
    """Turns chat messages into text; optionally constrained to a JSON schema.

    `judgement_weight` (0..1) says how much this backend's *content* judgement
    (is X liked?) counts against evidence read directly from the text: the
    embedded 135M model judges at chance, a strong endpoint is trusted more.
    """

    backend: ClassVar[str] = "base"
    judgement_weight: ClassVar[float] = 0.5

    def __init__(self, model: str, *, timeout_s: float = 30.0, max_reasks: int = 2) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.max_reasks = max_reasks
        self.stats = LLMCallStats()

    @property
    def state(self) -> str:
        """'ready', or for a model still loading in the background 'loading' (calls wait for it), or
        'failed: <why>'. What `/readyz` and the UI report."""
        return "ready"

    @abstractmethod
    def complete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict | None = None, max_tokens: int = 256,
        timeout_s: float | None = None,
    ) -> str:
        """Return the assistant's reply text. Raises `LLMTimeoutError` / `LLMError`."""

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, timeout_s: float | None = None
    ) -> Iterator[str]:
        """Yield the reply in pieces; backends that can stream override this."""
        yield self.complete(messages, max_tokens=max_tokens, timeout_s=timeout_s)

    def call_tool(
        self, messages: Sequence[ChatMessage], tools: Sequence[Tool], *, max_tokens: int = 128,
        timeout_s: float | None = None,
    ) -> ToolCall | None:
        """Let the model call one of `tools` natively (`assistant.llm.tools`).

        None when it answered without calling a tool, or the backend or endpoint has no tool calling:
        the caller then asks through `structured`. Raises `LLMOutputError` for a call that does not
        validate (a tool not offered, bad arguments), `LLMTimeoutError` / `LLMError` as `complete` does.
        """
        return None

    def structured(
        self, messages: Sequence[ChatMessage], output_type: type[T], *, max_tokens: int = 256,
        timeout_s: float | None = None,
    ) -> T:
        """Ask for JSON matching `output_type`; re-ask with the validation error at most `max_reasks` times.

        Raises `LLMOutputError` when no answer validates, `LLMTimeoutError` on timeout.
        """
        from recassist.prompts import load_prompt

        schema = output_type.model_json_schema()
        convo = list(messages)
        last_error = ""
        started = time.perf_counter()
        try:
            for attempt in range(self.max_reasks + 1):
                self.stats.calls += 1
                if attempt:
                    self.stats.reasks += 1
                raw = self.complete(convo, json_schema=schema, max_tokens=max_tokens, timeout_s=timeout_s)
                try:
                    return output_type.model_validate_json(_strip_fences(raw))
                except ValidationError as e:
                    last_error = _short_errors(e)
                reask = load_prompt("reask_invalid_json").render(errors=last_error, schema=json.dumps(schema))
                convo = [*convo, ChatMessage("assistant", raw[:2000]), *reask]
        finally:
            self.stats.seconds += time.perf_counter() - started
        self.stats.failures += 1
        raise LLMOutputError(
            f"no valid {output_type.__name__} after {self.max_reasks + 1} attempts: {last_error}",
            backend=self.backend, model=self.model,
        )


def _strip_fences(raw: str) -> str:
    """Some endpoints wrap JSON in ``` fences even in JSON mode."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else text[3:]
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _short_errors(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
