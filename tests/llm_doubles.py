"""LLM doubles for failure paths and deterministic routing tests only (never the only test of a feature)."""

from __future__ import annotations

from collections.abc import Sequence

from recassist.assistant.llm.base import ChatMessage, LLMClient


class ScriptedLLM(LLMClient):
    """Failure-path double: replies from a script (strings, or exceptions to raise)."""

    backend = "scripted"
    judgement_weight = 0.15

    def __init__(self, replies: Sequence[object], max_reasks: int = 2) -> None:
        super().__init__("scripted", max_reasks=max_reasks)
        self.replies = list(replies)
        self.seen: list[list[ChatMessage]] = []

    def complete(self, messages, *, json_schema=None, max_tokens=256, timeout_s=None) -> str:
        self.seen.append(list(messages))
        reply = self.replies.pop(0) if self.replies else ""
        if isinstance(reply, Exception):
            raise reply
        return str(reply)
