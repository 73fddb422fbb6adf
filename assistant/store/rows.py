"""Row conversions both SQL backends share: stored JSON to models (with clear errors), input checks."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError
from recassist.assistant.store.models import MAX_ITEMS_PER_TURN, MAX_TURN_CHARS, ShownItem
from recassist.foundation.errors import InputError, StoreError
from recassist.foundation.profile import InterestProfile

_ITEMS = TypeAdapter(list[ShownItem])


def parse_profile(text: str, user_id: str, revision: int, where: str) -> InterestProfile:
    """A stored profile's JSON -> the profile; `StoreError` naming the row and the way out when unreadable."""
    try:
        return InterestProfile.model_validate_json(text)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        raise StoreError(
            f"the stored {where} of user {user_id!r} (revision {revision}) is unreadable "
            f"({first['type']}: {first['msg']}); undo to an earlier revision or delete the profile"
        ) from None


def check_turn(role: object, text: object) -> None:
    """`InputError` unless `role` is 'user' / 'assistant' and `text` a string of at most MAX_TURN_CHARS.

    NUL characters are refused on every backend: PostgreSQL's TEXT cannot hold them, and a
    store must not accept on one backend what it refuses on another.
    """
    if role not in ("user", "assistant"):
        raise InputError(f"turn role {role!r} is not 'user' or 'assistant'")
    if not isinstance(text, str) or len(text) > MAX_TURN_CHARS:
        raise InputError(f"turn text must be a string of at most {MAX_TURN_CHARS} characters")
    if "\x00" in text:
        raise InputError("turn text must not contain NUL characters (\\x00); remove them and send it again")


def check_limit(limit: int | None) -> int | None:
    """A positive int or None (no limit); `InputError` otherwise."""
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InputError(f"limit must be a positive integer, got {limit!r}")
    return limit

def shown_items(items: Sequence[ShownItem | str | dict] | None) -> list[ShownItem]:
    """Item ids or records -> `ShownItem`s in order; `InputError` naming the bad one."""
    if items is None:
        return []
    if isinstance(items, (str, bytes)) or len(items) > MAX_ITEMS_PER_TURN:
        raise InputError(
            f"items must be a list of at most {MAX_ITEMS_PER_TURN} item ids or ShownItem records"
        )
    out = []
    for position, it in enumerate(items, 1):
        try:
            if isinstance(it, ShownItem):
                out.append(it)
            elif isinstance(it, str):
                out.append(ShownItem(item_id=it))
            else:
                out.append(ShownItem.model_validate(it))
        except ValidationError as e:
            raise InputError(
                f"shown item {position} is invalid: {e.errors(include_url=False)[0]['msg']}"
            ) from None
    return out


def parse_items(text: str, session_id: str, index: int) -> list[ShownItem]:
    """A turn's stored items JSON -> `ShownItem`s; `StoreError` naming the turn when unreadable."""
    try:
        return _ITEMS.validate_json(text)
    except ValidationError as e:
        raise StoreError(
            f"the stored items of session {session_id!r}, turn {index} are unreadable "
            f"({e.errors(include_url=False)[0]['msg']})"
        ) from None
