"""The LLM's proposal: what it thinks the text says. Grounding decides what survives."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from recassist.assistant.llm.base import LLMClient
from recassist.prompts import load_prompt

Aspect = Annotated[str, Field(max_length=30)]


class TitleVote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=60)
    liked: bool


class ExtractionProposal(BaseModel):
    """Small on purpose: every field costs generated tokens on a 2-core machine."""

    model_config = ConfigDict(extra="forbid")

    # Bounded lists keep constrained decoding short: the worst case fits in max_tokens.
    titles: list[TitleVote] = Field(default_factory=list, max_length=5)
    liked_aspects: list[Aspect] = Field(default_factory=list, max_length=4)
    disliked_aspects: list[Aspect] = Field(default_factory=list, max_length=4)
    min_year: int | None = Field(default=None, ge=1870, le=2100)
    max_year: int | None = Field(default=None, ge=1870, le=2100)


def sanitize_for_prompt(text: str) -> str:
    """Remove our delimiter tokens so user text cannot close the data block early."""
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")


def propose(llm: LLMClient, text: str, *, max_tokens: int = 256, timeout_s: float | None = None) -> ExtractionProposal:
    """One LLM call. Raises `LLMError` subclasses on timeout / invalid output after re-asks."""
    messages = load_prompt("extract_interests").render(text=sanitize_for_prompt(text))
    return llm.structured(messages, ExtractionProposal, max_tokens=max_tokens, timeout_s=timeout_s)
