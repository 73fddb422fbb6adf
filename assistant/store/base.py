"""The store seams: `ProfileStore`, `SessionStore` and `FeedbackLog`, and `Stores`, what a backend opens.

Each seam is a small ABC with its own contract test (tests/store). One backend
(SQLite, PostgreSQL) implements all three over one database, because a feedback
event and the profile change it causes are written in one transaction; callers
hold the `Stores` object and use whichever part they need. Everything that is
not storage — validating edits, folding feedback into a profile, naming the
change in the history — is built here once, so every backend behaves the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import JsonValue
from recassist.assistant.store.edits import apply_feedback, apply_ops, parse_ops
from recassist.assistant.store.models import (
    FeedbackKind,
    FeedbackRecord,
    Revision,
    Role,
    SessionRecord,
    ShownItem,
    Turn,
    UndoResult,
    check_feedback_kind,
    check_id,
)
from recassist.foundation.errors import ConfigError, InputError
from recassist.foundation.profile import InterestProfile

if TYPE_CHECKING:
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings

# A change computes the new profile and the history reason from the current profile.
Change = Callable[[InterestProfile], tuple[InterestProfile, str]]


class ProfileStore(ABC):
    """Users' profiles with their undoable history.

    Every method validates ids (`InputError`), raises `NotFoundError` for an
    unknown user where one must exist, and `StoreError` when the storage fails
    or holds an unreadable row. Safe to share between threads.
    """

    catalog: Catalog | None = None

    @abstractmethod
    def get_profile(self, user_id: str, *, create: bool = False) -> InterestProfile:
        """The user's current profile. Unknown user: an empty profile (and the user recorded) if
        `create`, else `NotFoundError`."""

    @abstractmethod
    def update_profile(
        self, user_id: str, change: Change, *, create: bool = True
    ) -> tuple[InterestProfile, Revision | None]:
        """Atomically read the current profile, apply `change`, and store the result as a new revision.

        `change` runs inside the write transaction: keep it pure and quick. No revision is
        written when the result equals the current profile. Returns (profile now current,
        the revision written or None). Unknown user: created if `create`, else `NotFoundError`.
        Exceptions from `change` propagate and leave everything as it was.
        """

    @abstractmethod
    def undo(self, user_id: str) -> UndoResult:
        """Take back the latest change still in effect and make the one before it current.

        Undone revisions stay in `history`, marked. Raises `NotFoundError` for an unknown
        user and `InputError` when there is nothing left to undo.
        """

    @abstractmethod
    def history(self, user_id: str, *, limit: int | None = None) -> list[Revision]:
        """The user's revisions, newest first (`limit` newest only). `NotFoundError` for an unknown user."""

    @abstractmethod
    def delete_profile(self, user_id: str) -> None:
        """Delete the user with their profile, history, feedback, sessions and turns.

        Raises `NotFoundError` for an unknown user.
        """

    # --- conveniences built on the primitives ------------------------------------------------------

    def save_profile(self, user_id: str, profile: InterestProfile, reason: str) -> Revision | None:
        """Store `profile` as the user's current one, creating the user if new.

        Returns the revision written, or None when `profile` equals the current one.
        Raises `InputError` for a bad id, an empty reason or a non-profile.
        """
        if not isinstance(profile, InterestProfile):
            raise InputError(f"save_profile needs an InterestProfile, got {type(profile).__name__}")
        reason = _check_reason(reason)
        return self.update_profile(user_id, lambda _old: (profile, reason))[1]

    def merge_profile(self, user_id: str, newer: InterestProfile, reason: str) -> Revision | None:
        """Merge what a turn extracted into the current profile (`InterestProfile.merged_with`) atomically.

        Prefer this to `get_profile` + `save_profile` for chat turns: feedback recorded by another
        request in between is kept instead of overwritten. Returns the revision, or None if nothing
        changed. Creates the user if new; raises `InputError` for a bad id, reason or non-profile.
        """
        if not isinstance(newer, InterestProfile):
            raise InputError(f"merge_profile needs an InterestProfile, got {type(newer).__name__}")
        reason = _check_reason(reason)
        return self.update_profile(user_id, lambda old: (old.merged_with(newer), reason))[1]

    def patch_profile(
        self, user_id: str, ops: Sequence[object], catalog: Catalog | None = None
    ) -> Revision | None:
        """Apply edit ops (see `edits.PatchOp`; models or dicts) in one revision, all or nothing.

        Returns the revision written, or None when the ops changed nothing. Raises
        `NotFoundError` for an unknown user or an op removing an absent entry,
        `InputError` for a malformed op, `UnknownItemError` for an item not in the catalog.
        """
        parsed = parse_ops(ops)
        cat = catalog or self.catalog
        return self.update_profile(user_id, lambda old: apply_ops(old, parsed, cat), create=False)[1]


class FeedbackLog(ABC):
    """The log of like / dislike / seen / not_interested events, each folded into the user's profile.

    Same errors as `ProfileStore`. Safe to share between threads.
    """

    catalog: Catalog | None = None

    @abstractmethod
    def append_feedback(
        self, user_id: str, item_id: str, kind: FeedbackKind, session_id: str | None, change: Change
    ) -> tuple[InterestProfile, FeedbackRecord]:
        """In one transaction: log the event and apply `change` to the user's profile (a revision when
        it changes anything). Creates the user if new; the session, when given, must be the user's
        (`NotFoundError` otherwise). Returns (profile now current, the record logged)."""

    @abstractmethod
    def feedback(self, user_id: str, *, limit: int | None = None) -> list[FeedbackRecord]:
        """The user's feedback events, newest first. `NotFoundError` for an unknown user."""

    def record_feedback(
        self,
        user_id: str,
        item_id: str,
        kind: FeedbackKind,
        session_id: str | None = None,
        catalog: Catalog | None = None,
    ) -> FeedbackRecord:
        """Record like / dislike / seen / not_interested and fold it into the profile, in one transaction.

        Creates the user if new. Raises `InputError` for a bad kind or id,
        `UnknownItemError` for an item not in the catalog, `NotFoundError` for an unknown
        session or one of another user, `ConfigError` when no catalog is available.
        """
        check_feedback_kind(kind)
        cat = catalog or self.catalog
        if cat is None:
            raise ConfigError("record_feedback needs a catalog to check item ids: open the store with one")
        item = cat.get(item_id)  # UnknownItemError before any write
        if session_id is not None:
            check_id(session_id, "session id")
        check_id(user_id)
        return self.append_feedback(
            user_id, item.item_id, kind, session_id, lambda old: apply_feedback(old, item.item_id, kind, cat)
        )[1]


class SessionStore(ABC):
    """Chat sessions: their turns with the items shown, and per-session conversation state.

    Raises `NotFoundError` for an unknown session, `InputError` for bad input,
    `StoreError` when the storage fails. Safe to share between threads and processes:
    any worker can serve a session's next turn.
    """

    @abstractmethod
    def start_session(self, user_id: str) -> str:
        """Create a chat session for the user (recording the user if new); returns its id."""

    @abstractmethod
    def session(self, session_id: str) -> SessionRecord:
        """The session's record (to check whose it is). `NotFoundError` if unknown."""

    @abstractmethod
    def append_turn(
        self, session_id: str, role: Role, text: str, items: Sequence[ShownItem | str] | None = None
    ) -> Turn:
        """Append a turn with the items shown in it (in display order). `NotFoundError` if unknown."""

    @abstractmethod
    def session_turns(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        """The session's turns, oldest first (only the `last_n` latest). `NotFoundError` if unknown."""

    @abstractmethod
    def get_session_state(self, session_id: str) -> dict[str, JsonValue]:
        """The session's conversation state (a JSON object; `{}` until first set). `NotFoundError` if unknown."""

    @abstractmethod
    def set_session_state(self, session_id: str, state: Mapping[str, JsonValue]) -> None:
        """Replace the session's conversation state with `state` (see `models.session_state_json`).

        Raises `InputError` for a state that is not a small JSON object, `NotFoundError` for an
        unknown session.
        """

    def session_ids(self) -> list[str]:
        """Every session's id, oldest first (for exporting conversations). Backends that can list override this."""
        raise NotImplementedError(f"the {type(self).__name__} store cannot list its sessions")

    def last_shown_items(self, session_id: str) -> list[ShownItem]:
        """Items of the latest turn that showed any, in display order; [] if none yet."""
        for turn in reversed(self.session_turns(session_id)):
            if turn.items:
                return list(turn.items)
        return []


class Stores(ProfileStore, FeedbackLog, SessionStore):
    """What a backend opens: the three stores over one database, plus its lifecycle."""

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings, catalog: Catalog | None = None) -> Stores:
        """Open the backend at the location `settings` name."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    @abstractmethod
    def ping(self) -> None:
        """A cheap read proving the store answers (readiness probes); `StoreError` if it does not."""

    @property
    def profiles(self) -> ProfileStore:
        return self

    @property
    def sessions(self) -> SessionStore:
        return self

    @property
    def feedback_log(self) -> FeedbackLog:
        return self

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("a profile change needs a reason, e.g. 'turn 3: extracted'")
    # NUL dropped: PostgreSQL's TEXT cannot hold it, and a reason is a label, not user data kept verbatim.
    return reason.replace("\x00", "").strip()[:500]
