"""One exception hierarchy for recassist.

Callers' mistakes (`InputError` and children) are kept apart from failures of
things we depend on (`BackendError` and children), so the CLI and the HTTP API
can map each family to an exit code / status in one place.
"""

from __future__ import annotations


class RecassistError(Exception):
    """Root of every error recassist raises on purpose."""


class InputError(RecassistError):
    """The caller gave us something we cannot use; the message says what to change."""


class ConfigError(InputError):
    """A setting is missing or inconsistent."""


class DataFormatError(InputError):
    """A catalog or interaction file has a bad row.

    Carries the file, 1-based line, field and what was expected, so the
    message can point the user at the exact cell to fix.
    """

    def __init__(self, path: str, line: int, field: str, expected: str, got: object = None) -> None:
        self.path, self.line, self.field, self.expected, self.got = path, line, field, expected, got
        shown = "" if got is None else f", got {got!r}"
        super().__init__(f"{path}, line {line}, field '{field}': expected {expected}{shown}")


class NotFoundError(InputError):
    """A user, session, revision or profile entry the caller named does not exist."""


class UnknownItemError(InputError):
    """An item id or title does not exist in the catalog."""


class UnknownDomainError(InputError):
    """A request names a domain ('books') that no configured catalog serves; the message lists those that do."""


class FilterError(InputError):
    """A retrieval filter names a field or operator outside the allow-list."""


class StateMismatchError(InputError):
    """A stored artefact (index, checkpoint) was built for another catalog or config."""


class BackendError(RecassistError):
    """Something we depend on (an LLM endpoint, a vector store) failed."""


class StoreError(BackendError):
    """The profile store failed (busy, unwritable) or holds a row it cannot read; the message names it."""


class LLMError(BackendError):
    """The LLM backend failed; carries the backend and model name."""

    def __init__(self, message: str, *, backend: str = "", model: str = "") -> None:
        self.backend, self.model = backend, model
        where = f" [{backend}:{model}]" if backend or model else ""
        super().__init__(f"{message}{where}")


class LLMTimeoutError(LLMError):
    """The LLM did not answer within the configured timeout."""


class LLMOutputError(LLMError):
    """The LLM kept returning output that does not validate, after the allowed re-asks."""
