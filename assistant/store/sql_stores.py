"""The SQL both database backends run (`SQLStores`); each backend supplies its connection and dialect.

One copy of every statement and of the transaction logic, so SQLite and PostgreSQL cannot drift
apart: statements are written with `?` placeholders, and a backend says how it spells the few
things the two databases do differently (placeholders, timestamps, "no limit", row locks, the id
of an inserted row). Every multi-row write runs in one `db.write()` transaction that records the
user (or locks the session) first, so a failure part-way leaves the previous state and concurrent
writers of one user queue instead of losing an update.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import JsonValue, ValidationError
from recassist.assistant.store.base import Change, Stores
from recassist.assistant.store.models import (
    FeedbackRecord,
    Revision,
    SessionRecord,
    Turn,
    UndoResult,
    check_id,
    parse_session_state,
    session_state_json,
)
from recassist.assistant.store.rows import check_limit, check_turn, parse_items, parse_profile, shown_items
from recassist.foundation.errors import InputError, NotFoundError
from recassist.foundation.profile import InterestProfile

if TYPE_CHECKING:
    from recassist.assistant.store.models import FeedbackKind, Role, ShownItem
    from recassist.foundation.catalog import Catalog


class Connection(Protocol):
    """What the shared SQL needs of a driver connection (sqlite3 and psycopg both qualify)."""

    def execute(self, sql: str, params: Sequence[object], /) -> Any: ...


class Database(Protocol):
    """A backend's connection holder: transactions that commit all or nothing, driver errors as `StoreError`."""

    def write(self) -> AbstractContextManager[Any]: ...

    def read(self) -> AbstractContextManager[Any]: ...

    def close(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class SQLStores(Stores):
    """Profiles, history, feedback and sessions in an SQL database (see `base` for the contracts).

    Subclasses set `db` (through `__init__`) and the dialect hooks below. `clock` returns an
    aware datetime; tests inject a fixed one for known answers.
    """

    # The LIMIT value that means "all rows".
    NO_LIMIT: ClassVar[int | None] = None
    # Tie-break after created_at, so sessions started in one clock tick list in a stable order.
    SESSION_ORDER: ClassVar[str] = "created_at, session_id"
    # Appended to the SELECT of the session row in `append_turn`: makes concurrent appends queue.
    ROW_LOCK: ClassVar[str] = ""

    def __init__(
        self, db: Database, catalog: Catalog | None = None, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.db = db
        self.catalog = catalog
        self._clock = clock

    # --- dialect hooks ----------------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        """`statement` in the driver's placeholder style (written here with `?`)."""
        return statement

    def _stamp(self, moment: datetime) -> object:
        """`moment` as the driver stores it."""
        return moment

    def _insert_id(self, con: Connection, statement: str, params: Sequence[object]) -> int:
        """Run the INSERT `statement` and return the id the database gave the new row."""
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------------------------

    def _run(self, con: Connection, statement: str, params: Sequence[object] = ()) -> Any:
        """The driver's cursor after running `statement` (rowcount, fetchone, fetchall work on both)."""
        return con.execute(self._sql(statement), params)

    def _limit(self, limit: int | None) -> int | None:
        n = check_limit(limit)
        return self.NO_LIMIT if n is None else n

    def close(self) -> None:
        self.db.close()

    def ping(self) -> None:
        with self.db.read() as con:
            self._run(con, "SELECT 1 FROM users LIMIT 1").fetchall()

    def _ensure_user(self, con: Connection, user_id: str, now: datetime, create: bool) -> None:
        """Record the user's visit; the row write holds the user's lock until the transaction ends."""
        if self._run(con, "UPDATE users SET last_seen = ? WHERE user_id = ?", (self._stamp(now), user_id)).rowcount:
            return
        if not create:
            raise NotFoundError(f"user {user_id!r} not found")
        self._run(
            con,
            "INSERT INTO users (user_id, created_at, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET last_seen = excluded.last_seen",
            (user_id, self._stamp(now), self._stamp(now)),
        )

    def _require_user(self, con: Connection, user_id: str) -> None:
        if self._run(con, "SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
            raise NotFoundError(f"user {user_id!r} not found")

    def _newest_rows(self, user_id: str, limit: int | None, select: str) -> list[Any]:
        """The rows of `select` (parameters: user id, limit), for a user who must exist."""
        check_id(user_id)
        n = self._limit(limit)
        with self.db.read() as con:
            self._require_user(con, user_id)
            rows: list[Any] = self._run(con, select, (user_id, n)).fetchall()
        return rows

    def _require_session(self, con: Connection, session_id: str, lock: str = "") -> str:
        """The session's owner; `NotFoundError` if there is no such session."""
        owner = self._run(con, "SELECT user_id FROM sessions WHERE session_id = ?" + lock, (session_id,)).fetchone()
        if owner is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return str(owner[0])

    # --- profiles -------------------------------------------------------------------------------

    def get_profile(self, user_id: str, *, create: bool = False) -> InterestProfile:
        check_id(user_id)
        with self.db.read() as con:
            row = self._run(
                con,
                "SELECT u.user_id, p.revision, p.profile_json FROM users u "
                "LEFT JOIN profiles p ON p.user_id = u.user_id WHERE u.user_id = ?",
                (user_id,),
            ).fetchone()
        if row is not None:
            if row[1] is None:
                return InterestProfile(status="empty")
            return parse_profile(row[2], user_id, row[1], "current profile")
        if not create:
            raise NotFoundError(f"user {user_id!r} not found")
        with self.db.write() as con:
            self._ensure_user(con, user_id, self._clock(), create=True)
        return InterestProfile(status="empty")

    def update_profile(
        self, user_id: str, change: Change, *, create: bool = True
    ) -> tuple[InterestProfile, Revision | None]:
        return self._update(user_id, change, create=create)[:2]

    def append_feedback(
        self, user_id: str, item_id: str, kind: FeedbackKind, session_id: str | None, change: Change
    ) -> tuple[InterestProfile, FeedbackRecord]:
        profile, _, record = self._update(user_id, change, create=True, feedback=(item_id, kind, session_id))
        assert record is not None
        return profile, record

    def _update(
        self,
        user_id: str,
        change: Change,
        *,
        create: bool,
        feedback: tuple[str, FeedbackKind, str | None] | None = None,
    ) -> tuple[InterestProfile, Revision | None, FeedbackRecord | None]:
        check_id(user_id)
        with self.db.write() as con:
            now = self._clock()
            self._ensure_user(con, user_id, now, create)  # the user's row lock: updates queue here
            row = self._run(con, "SELECT revision, profile_json FROM profiles WHERE user_id = ?", (user_id,)).fetchone()
            current = (
                parse_profile(row[1], user_id, row[0], "current profile") if row else InterestProfile(status="empty")
            )
            current_json = current.model_dump_json()  # taken first: `change` may mutate `current`
            new, reason = change(current)
            if not isinstance(new, InterestProfile):
                raise InputError(f"a profile change must produce an InterestProfile, got {type(new).__name__}")
            revision = None
            new_json = new.model_dump_json()
            if new_json != current_json:
                # Re-read from the JSON we store: catches fields assigned without validation, and the
                # returned object is not the caller's own.
                try:
                    new = InterestProfile.model_validate_json(new_json)
                except ValidationError as e:
                    raise InputError(
                        f"the changed profile is invalid: {e.errors(include_url=False)[0]['msg']}"
                    ) from None
                revision = self._write_revision(con, user_id, new, new_json, reason, now)
            record = None
            if feedback is not None:
                record = self._insert_feedback(con, user_id, *feedback, now, revision)
        return new, revision, record

    def _write_revision(
        self, con: Connection, user_id: str, profile: InterestProfile, text: str, reason: str, now: datetime
    ) -> Revision:
        number = self._run(
            con, "SELECT COALESCE(MAX(revision), 0) + 1 FROM profile_revisions WHERE user_id = ?", (user_id,)
        ).fetchone()[0]
        self._run(
            con,
            "INSERT INTO profile_revisions (user_id, revision, created_at, reason, profile_json) "
            "VALUES (?, ?, ?, ?, ?)",
            (user_id, number, self._stamp(now), reason, text),
        )
        self._run(
            con,
            "INSERT INTO profiles (user_id, revision, profile_json, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET revision = excluded.revision, "
            "profile_json = excluded.profile_json, updated_at = excluded.updated_at",
            (user_id, number, text, self._stamp(now)),
        )
        return Revision(user_id=user_id, revision=number, created_at=now, reason=reason, profile=profile)

    def _insert_feedback(
        self,
        con: Connection,
        user_id: str,
        item_id: str,
        kind: FeedbackKind,
        session_id: str | None,
        now: datetime,
        revision: Revision | None,
    ) -> FeedbackRecord:
        if session_id is not None:
            owner = self._run(con, "SELECT user_id FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
            # Same answer for "no such session" and "someone else's": ids of others are not confirmed.
            if owner is None or owner[0] != user_id:
                raise NotFoundError(f"session {session_id!r} not found for user {user_id!r}")
        number = revision.revision if revision else None
        row_id = self._insert_id(
            con,
            "INSERT INTO feedback (user_id, item_id, kind, created_at, session_id, revision) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, item_id, kind, self._stamp(now), session_id, number),
        )
        return FeedbackRecord(
            id=row_id, user_id=user_id, item_id=item_id, kind=kind, created_at=now, session_id=session_id,
            revision=number,
        )

    def undo(self, user_id: str) -> UndoResult:
        check_id(user_id)
        with self.db.write() as con:
            now = self._clock()
            self._ensure_user(con, user_id, now, create=False)
            row = self._run(
                con,
                "SELECT r.revision, r.reason FROM profiles p JOIN profile_revisions r "
                "ON r.user_id = p.user_id AND r.revision = p.revision WHERE p.user_id = ?",
                (user_id,),
            ).fetchone()
            if row is None:
                raise InputError(f"nothing to undo: the profile of user {user_id!r} has no changes left in effect")
            head, reason = row
            self._run(
                con, "UPDATE profile_revisions SET undone_at = ? WHERE user_id = ? AND revision = ?",
                (self._stamp(now), user_id, head),
            )
            # Undone revisions never come back, so the newest one not undone is the state before `head`.
            prev = self._run(
                con,
                "SELECT revision, profile_json FROM profile_revisions "
                "WHERE user_id = ? AND revision < ? AND undone_at IS NULL ORDER BY revision DESC LIMIT 1",
                (user_id, head),
            ).fetchone()
            if prev is None:
                number, profile = 0, InterestProfile(status="empty")
            else:
                number, profile = prev[0], parse_profile(prev[1], user_id, prev[0], "profile revision")
            self._run(
                con,
                "UPDATE profiles SET revision = ?, profile_json = ?, updated_at = ? WHERE user_id = ?",
                (number, profile.model_dump_json(), self._stamp(now), user_id),
            )
        return UndoResult(undone_revision=head, undone_reason=reason, revision=number, profile=profile)

    def history(self, user_id: str, *, limit: int | None = None) -> list[Revision]:
        rows = self._newest_rows(
            user_id,
            limit,
            "SELECT revision, created_at, reason, profile_json, undone_at FROM profile_revisions "
            "WHERE user_id = ? ORDER BY revision DESC LIMIT ?",
        )
        return [
            Revision(user_id=user_id, revision=r, created_at=created, reason=reason,
                     profile=parse_profile(text, user_id, r, "profile revision"), undone_at=undone)
            for r, created, reason, text, undone in rows
        ]

    def delete_profile(self, user_id: str) -> None:
        check_id(user_id)
        with self.db.write() as con:
            # Foreign keys cascade to profiles, revisions, feedback, sessions and turns.
            if not self._run(con, "DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount:
                raise NotFoundError(f"user {user_id!r} not found")

    # --- feedback -------------------------------------------------------------------------------

    def feedback(self, user_id: str, *, limit: int | None = None) -> list[FeedbackRecord]:
        rows = self._newest_rows(
            user_id,
            limit,
            "SELECT id, item_id, kind, created_at, session_id, revision FROM feedback "
            "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
        )
        return [
            FeedbackRecord(id=i, user_id=user_id, item_id=item, kind=kind, created_at=at, session_id=sid,
                           revision=rev)
            for i, item, kind, at, sid, rev in rows
        ]

    # --- sessions -------------------------------------------------------------------------------

    def start_session(self, user_id: str) -> str:
        check_id(user_id)
        session_id = uuid.uuid4().hex
        with self.db.write() as con:
            now = self._clock()
            self._ensure_user(con, user_id, now, create=True)
            self._run(
                con,
                "INSERT INTO sessions (session_id, user_id, created_at) VALUES (?, ?, ?)",
                (session_id, user_id, self._stamp(now)),
            )
        return session_id

    def session(self, session_id: str) -> SessionRecord:
        check_id(session_id, "session id")
        with self.db.read() as con:
            row = self._run(
                con, "SELECT user_id, created_at FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return SessionRecord(session_id=session_id, user_id=row[0], created_at=row[1])

    def session_ids(self) -> list[str]:
        with self.db.read() as con:
            rows = self._run(con, f"SELECT session_id FROM sessions ORDER BY {self.SESSION_ORDER}").fetchall()
        return [r[0] for r in rows]

    def get_session_state(self, session_id: str) -> dict[str, JsonValue]:
        check_id(session_id, "session id")
        with self.db.read() as con:
            row = self._run(con, "SELECT state_json FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return parse_session_state(row[0], session_id)

    def set_session_state(self, session_id: str, state: Mapping[str, JsonValue]) -> None:
        check_id(session_id, "session id")
        text = session_state_json(state)
        with self.db.write() as con:
            updated = self._run(con, "UPDATE sessions SET state_json = ? WHERE session_id = ?", (text, session_id))
            if not updated.rowcount:
                raise NotFoundError(f"session {session_id!r} not found")

    def append_turn(
        self, session_id: str, role: Role, text: str, items: Sequence[ShownItem | str] | None = None
    ) -> Turn:
        check_id(session_id, "session id")
        check_turn(role, text)
        shown = shown_items(items)
        items_json = "[" + ",".join(it.model_dump_json() for it in shown) + "]"
        with self.db.write() as con:
            now = self._clock()
            owner = self._require_session(con, session_id, self.ROW_LOCK)
            self._ensure_user(con, owner, now, create=False)
            index = self._run(
                con, "SELECT COALESCE(MAX(idx), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            self._run(
                con,
                "INSERT INTO turns (session_id, idx, role, text, created_at, items_json) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, index, role, text, self._stamp(now), items_json),
            )
        return Turn(session_id=session_id, index=index, role=role, text=text, created_at=now, items=shown)

    def session_turns(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        check_id(session_id, "session id")
        n = self._limit(last_n)
        with self.db.read() as con:
            self._require_session(con, session_id)
            rows = self._run(
                con,
                "SELECT idx, role, text, created_at, items_json FROM turns WHERE session_id = ? "
                "ORDER BY idx DESC LIMIT ?",
                (session_id, n),
            ).fetchall()
        return [
            Turn(session_id=session_id, index=i, role=role, text=text, created_at=at,
                 items=parse_items(items, session_id, i))
            for i, role, text, at, items in reversed(rows)
        ]

