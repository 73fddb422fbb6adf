"""Helpers shared by the foundation tests (imported by name; pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.llm.base import ChatMessage, LLMClient


def item_id(catalog, label: str) -> str:
    hits = [i.item_id for i in catalog.items.values() if i.label == label]
    assert len(hits) == 1, f"{label!r} not unique in the demo catalog: {hits}"
    return hits[0]


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
