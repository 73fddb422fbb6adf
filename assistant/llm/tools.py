"""Native tool calling: the tools a capable endpoint may call, and validating the call it makes.

A tool is a name, a description and a pydantic model for its arguments. Endpoints
that speak OpenAI's `tools` (OpenAI, vLLM with auto tool choice, Ollama, llama.cpp
server with a function-calling chat format) pick one; what they send back is
untrusted like any LLM output, so the name must be one we offered and the
arguments must validate before anything acts on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from recassist.foundation.errors import LLMOutputError


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]

    def openai_schema(self) -> dict:
        """The `tools` entry of an OpenAI chat-completions request."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.arguments.model_json_schema(),
        }}


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: BaseModel


def parse_tool_call(name: str, arguments: str | dict | None, tools: list[Tool], *, backend: str,
                    model: str) -> ToolCall:
    """Validate one call the endpoint made. Raises `LLMOutputError` naming what was wrong: a tool we did
    not offer, or arguments that are not JSON or do not match the tool's model."""
    by_name = {t.name: t for t in tools}
    tool = by_name.get((name or "").strip())
    if tool is None:
        raise LLMOutputError(f"endpoint called {str(name)[:60]!r}, not one of the offered tools {sorted(by_name)}",
                             backend=backend, model=model)
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as e:
            raise LLMOutputError(f"arguments of {tool.name!r} are not JSON: {e.msg}", backend=backend,
                                 model=model) from None
    try:
        return ToolCall(tool.name, tool.arguments.model_validate(arguments or {}))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        raise LLMOutputError(f"arguments of {tool.name!r} invalid at {where}: {first['msg']}", backend=backend,
                             model=model) from None
