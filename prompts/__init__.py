"""Prompt files: YAML templates loaded into a validated `PromptTemplate`.

Each file declares its variables; on load we check that the templates use
exactly those (a typo is an error at load time, not a silent empty string),
and `render` refuses missing variables. Values are inserted as data by a
sandboxed Jinja environment: user text containing `{{ ... }}` stays text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, model_validator
from recassist.foundation.errors import ConfigError
from recassist.foundation.messages import ChatMessage

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class MissingVariables(ConfigError):
    """A prompt was rendered without all of its declared variables."""


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str = ""
    variables: list[str] = Field(default_factory=list)
    system: str = ""
    user: str

    @model_validator(mode="after")
    def _variables_match_templates(self) -> PromptTemplate:
        used: set[str] = set()
        for part in (self.system, self.user):
            used |= meta.find_undeclared_variables(_ENV.parse(part))
        declared = set(self.variables)
        if used != declared:
            raise ValueError(
                f"prompt '{self.name}': templates use {sorted(used)} but declare {sorted(declared)}"
            )
        return self

    def render(self, **values: object) -> list[ChatMessage]:
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise MissingVariables(f"prompt '{self.name}' needs {', '.join(missing)}")
        messages = []
        if self.system.strip():
            messages.append(ChatMessage("system", _ENV.from_string(self.system).render(**values).strip()))
        messages.append(ChatMessage("user", _ENV.from_string(self.user).render(**values).strip()))
        return messages


@cache
def load_prompt(name: str) -> PromptTemplate:
    """Load `prompts/<name>.yaml`; raises `ConfigError` naming the file when it is missing or invalid."""
    try:
        text = resources.files("recassist.prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no prompt file prompts/{name}.yaml") from None
    try:
        data = yaml.safe_load(text)
        return PromptTemplate.model_validate(data)
    except (yaml.YAMLError, ValueError) as e:
        raise ConfigError(f"prompts/{name}.yaml is invalid: {e}") from None


def available_prompts() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("recassist.prompts").iterdir() if p.name.endswith(".yaml"))
