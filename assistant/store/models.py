"""Typed records the profile store accepts and returns.

Ids are validated here, once, so every backend and both surfaces (UI, HTTP API)
reject the same bad input with the same message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError
from recassist.foundation.errors import InputError, StoreError
from recassist.foundation.profile import InterestProfile

FeedbackKind = Literal["like", "dislike", "seen", "not_interested"]
FEEDBACK_KINDS: tuple[str, ...] = ("like", "dislike", "seen", "not_interested")
Role = Literal["user", "assistant"]

# Ids travel in URLs and log lines: a first character that is a letter or digit rules out
# "." / ".." and leading dashes; the rest is a charset that needs no escaping anywhere.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}")
MAX_TURN_CHARS = 50_000
MAX_ITEMS_PER_TURN = 200
MAX_SESSION_STATE_CHARS = 20_000  # session state is small bookkeeping, not a document store
_STATE: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])


def check_id(value: object, what: str = "user id") -> str:
    """Return `value` if it is a valid id (1-128 chars: letters, digits, `_ . @ : -`, first alphanumeric).

    Raises `InputError` naming `what` and the rule otherwise.
    """
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:40] + "...")
        raise InputError(
            f"{what} {shown} is not valid: use 1-128 characters from letters, digits and _ . @ : -, "
            "starting with a letter or digit"
        )
    return value


def check_feedback_kind(kind: object) -> FeedbackKind:
    """Return `kind` if it is one of FEEDBACK_KINDS; raises `InputError` listing them otherwise."""
    if kind not in FEEDBACK_KINDS:
        raise InputError(f"feedback kind {kind!r} is not one of {', '.join(FEEDBACK_KINDS)}")
    return kind  # type: ignore[return-value]


def session_state_json(state: object) -> str:
    """`state` as the JSON text a backend stores: it must be a dict with string keys and JSON values,
    at most MAX_SESSION_STATE_CHARS long once encoded. Raises `InputError` saying which rule failed."""
    if not isinstance(state, Mapping):
        raise InputError(f"session state must be a JSON object (dict), got {type(state).__name__}")
    try:
        # Validate first (dumping alone coerces silently); NaN and infinities are not JSON.
        text = json.dumps(_STATE.validate_python(dict(state), strict=True), allow_nan=False, ensure_ascii=False)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][:2]) or "(top)"
        raise InputError(
            f"session state must map string keys to JSON values (str, number, bool, None, list, dict); "
            f"{where} is not one: {first['msg']}"
        ) from None
    except ValueError:
        raise InputError("session state holds NaN or an infinite number, which JSON cannot carry") from None
    if len(text) > MAX_SESSION_STATE_CHARS:
        raise InputError(
            f"session state is {len(text)} characters as JSON; at most {MAX_SESSION_STATE_CHARS} are kept"
        )
    return text


def parse_session_state(text: str, session_id: str) -> dict[str, JsonValue]:
    """The stored state text back as a dict; `StoreError` if the row is unreadable."""
    try:
        return _STATE.validate_json(text)
    except ValidationError as e:
        raise StoreError(
            f"the stored state of session {session_id!r} is unreadable ({e.errors(include_url=False)[0]['msg']}); "
            "start a new session"
        ) from None


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Revision(_Record):
    """One stored change of a user's profile, with the full profile after the change."""

    user_id: str
    revision: int = Field(ge=1, description="1, 2, ... per user, never reused while the user exists.")
    created_at: datetime
    reason: str = Field(description="e.g. 'turn 3: extracted', 'feedback: like 2571'.")
    profile: InterestProfile
    undone_at: datetime | None = Field(default=None, description="Set when `undo` took this change back.")


class UndoResult(_Record):
    """What `undo` did: the change taken back and the profile now current (revision 0 = empty)."""

    undone_revision: int
    undone_reason: str
    revision: int
    profile: InterestProfile


class FeedbackRecord(_Record):
    id: int
    user_id: str
    item_id: str
    kind: FeedbackKind
    created_at: datetime
    session_id: str | None = None
    revision: int | None = Field(
        default=None,
        description="Profile revision this feedback produced; None if the profile already said so.",
    )


class ShownItem(BaseModel):
    """An item shown in a turn, in display order, so 'the second one' can be resolved later."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=128)
    title: str = ""
    score: float | None = None
    extra: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Anything the caller needs later, e.g. the evidence behind the item.",
    )


class SessionRecord(_Record):
    session_id: str
    user_id: str
    created_at: datetime


class Turn(_Record):
    session_id: str
    index: int = Field(ge=1, description="1-based position in the session.")
    role: Role
    text: str
    created_at: datetime
    items: list[ShownItem] = Field(default_factory=list)
