"""Ways to ask an OpenAI-compatible endpoint for JSON, strongest first.

Endpoints differ: OpenAI and vLLM take `json_schema`; llama.cpp's server takes
`json_object` with a `schema`; others only plain JSON mode. A client walks down
this list when the endpoint refuses a format, and remembers where it stopped.
"""

from __future__ import annotations

JSON_MODES = ("json_schema", "json_object_schema", "json_object", "none")


def response_format(mode: str, schema: dict) -> dict | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.get("title", "output"), "schema": schema}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def is_format_refusal(status: int, message: str) -> bool:
    """Did the endpoint reject the request because of `response_format`? (llama.cpp answers 500 for that.)"""
    return status in (400, 422) or (status >= 500 and "response_format" in message)


#: `tool_choice` values to try, strongest first. OpenAI and vLLM take "required" (the model must call a
#: tool); llama.cpp's server answers 500 to it but honours "auto" under a function-calling chat format.
TOOL_CHOICES = ("required", "auto")


def is_tool_refusal(status: int) -> bool:
    """Did the endpoint reject `tools` / `tool_choice` (rather than fail)? Gateway errors (502-504) are failures."""
    return status in (400, 404, 422, 500, 501)
