"""SQLite backend of the stores (`base.Stores`): profiles with history, feedback and sessions in one file.

Connections, transactions and locking live in `sqlite_db.SQLiteDB`; this module
is the SQL for each operation. Every multi-row write runs in one `db.write()`
transaction, so a failure part-way leaves the previous state.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import JsonValue, ValidationError
from recassist.assistant.store.base import Change, Stores
from recassist.assistant.store.models import (
    FeedbackKind,
    FeedbackRecord,
    Revision,
    Role,
    SessionRecord,
    ShownItem,
    Turn,
    UndoResult,
    check_id,
    parse_session_state,
    session_state_json,
)
from recassist.assistant.store.rows import check_limit, check_turn, parse_items, parse_profile, shown_items
from recassist.assistant.store.sqlite_db import SQLiteDB
from recassist.foundation.errors import InputError, NotFoundError
from recassist.foundation.profile import InterestProfile

if TYPE_CHECKING:
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings



def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteStores(Stores):
    """Profiles, history, feedback and sessions in one SQLite file (see `base` for the contracts).

    `clock` returns an aware datetime; tests inject a fixed one for known answers.
    Raises `StoreError` when the file cannot be opened, is not a database, or
    has a schema newer than this code.
    """

    def __init__(
        self,
        path: Path | str,
        catalog: Catalog | None = None,
        *,
        busy_timeout_s: float = 10.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.db = SQLiteDB(path, busy_timeout_s=busy_timeout_s)
        self.catalog = catalog
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, catalog: Catalog | None = None) -> SQLiteStores:
        return cls(settings.sqlite_path, catalog)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def ping(self) -> None:
        try:
            with self.db.read() as con:
                con.execute("SELECT 1 FROM users LIMIT 1").fetchall()
        except sqlite3.Error as e:
            raise self.db.translate(e) from None

    # --- helpers ----------------------------------------------------------------------------------

    def _now(self) -> tuple[datetime, str]:
        now = self._clock()
        return now, now.isoformat()

    @staticmethod
    def _ensure_user(con: sqlite3.Connection, user_id: str, now: str, create: bool) -> None:
        if con.execute("UPDATE users SET last_seen = ? WHERE user_id = ?", (now, user_id)).rowcount:
            return
        if not create:
            raise NotFoundError(f"user {user_id!r} not found")
        con.execute(
            "INSERT INTO users (user_id, created_at, last_seen) VALUES (?, ?, ?)", (user_id, now, now)
        )

    @staticmethod
    def _require_user(con: sqlite3.Connection, user_id: str) -> None:
        if con.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
            raise NotFoundError(f"user {user_id!r} not found")

    # --- profiles -------------------------------------------------------------------------------

    def get_profile(self, user_id: str, *, create: bool = False) -> InterestProfile:
        check_id(user_id)
        with self.db.read() as con:
            row = con.execute(
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
            self._ensure_user(con, user_id, self._now()[1], create=True)
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
            now_dt, now = self._now()
            self._ensure_user(con, user_id, now, create)
            row = con.execute(
                "SELECT revision, profile_json FROM profiles WHERE user_id = ?", (user_id,)
            ).fetchone()
            current = (
                parse_profile(row[1], user_id, row[0], "current profile")
                if row
                else InterestProfile(status="empty")
            )
            current_json = current.model_dump_json()  # taken first: `change` may mutate `current`
            new, reason = change(current)
            if not isinstance(new, InterestProfile):
                raise InputError(
                    f"a profile change must produce an InterestProfile, got {type(new).__name__}"
                )
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
                revision = self._write_revision(con, user_id, new, new_json, reason, now_dt)
            record = None
            if feedback is not None:
                record = self._insert_feedback(con, user_id, *feedback, now_dt, revision)
        return new, revision, record

    def _write_revision(
        self,
        con: sqlite3.Connection,
        user_id: str,
        profile: InterestProfile,
        text: str,
        reason: str,
        now: datetime,
    ) -> Revision:
        number = con.execute(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM profile_revisions WHERE user_id = ?", (user_id,)
        ).fetchone()[0]
        con.execute(
            "INSERT INTO profile_revisions (user_id, revision, created_at, reason, profile_json) "
            "VALUES (?, ?, ?, ?, ?)",
            (user_id, number, now.isoformat(), reason, text),
        )
        con.execute(
            "INSERT INTO profiles (user_id, revision, profile_json, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET revision = excluded.revision, "
            "profile_json = excluded.profile_json, updated_at = excluded.updated_at",
            (user_id, number, text, now.isoformat()),
        )
        return Revision(user_id=user_id, revision=number, created_at=now, reason=reason, profile=profile)

    def _insert_feedback(
        self,
        con: sqlite3.Connection,
        user_id: str,
        item_id: str,
        kind: FeedbackKind,
        session_id: str | None,
        now: datetime,
        revision: Revision | None,
    ) -> FeedbackRecord:
        if session_id is not None:
            owner = con.execute("SELECT user_id FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
            # Same answer for "no such session" and "someone else's": ids of others are not confirmed.
            if owner is None or owner[0] != user_id:
                raise NotFoundError(f"session {session_id!r} not found for user {user_id!r}")
        number = revision.revision if revision else None
        cur = con.execute(
            "INSERT INTO feedback (user_id, item_id, kind, created_at, session_id, revision) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, item_id, kind, now.isoformat(), session_id, number),
        )
        row_id = cur.lastrowid
        assert row_id is not None  # set by every successful INSERT
        return FeedbackRecord(
            id=row_id,
            user_id=user_id,
            item_id=item_id,
            kind=kind,
            created_at=now,
            session_id=session_id,
            revision=number,
        )

    def undo(self, user_id: str) -> UndoResult:
        check_id(user_id)
        with self.db.write() as con:
            _, now = self._now()
            self._ensure_user(con, user_id, now, create=False)
            row = con.execute(
                "SELECT r.revision, r.reason FROM profiles p JOIN profile_revisions r "
                "ON r.user_id = p.user_id AND r.revision = p.revision WHERE p.user_id = ?",
                (user_id,),
            ).fetchone()
            if row is None:
                raise InputError(
                    f"nothing to undo: the profile of user {user_id!r} has no changes left in effect"
                )
            head, reason = row
            con.execute(
                "UPDATE profile_revisions SET undone_at = ? WHERE user_id = ? AND revision = ?",
                (now, user_id, head),
            )
            # Undone revisions never come back, so the newest one not undone is the state before `head`.
            prev = con.execute(
                "SELECT revision, profile_json FROM profile_revisions "
                "WHERE user_id = ? AND revision < ? AND undone_at IS NULL ORDER BY revision DESC LIMIT 1",
                (user_id, head),
            ).fetchone()
            if prev is None:
                number, profile = 0, InterestProfile(status="empty")
            else:
                number, profile = prev[0], parse_profile(prev[1], user_id, prev[0], "profile revision")
            con.execute(
                "UPDATE profiles SET revision = ?, profile_json = ?, updated_at = ? WHERE user_id = ?",
                (number, profile.model_dump_json(), now, user_id),
            )
        return UndoResult(undone_revision=head, undone_reason=reason, revision=number, profile=profile)

    def history(self, user_id: str, *, limit: int | None = None) -> list[Revision]:
        check_id(user_id)
        n = _limit(limit)
        with self.db.read() as con:
            self._require_user(con, user_id)
            rows = con.execute(
                "SELECT revision, created_at, reason, profile_json, undone_at FROM profile_revisions "
                "WHERE user_id = ? ORDER BY revision DESC LIMIT ?",
                (user_id, n),
            ).fetchall()
        return [
            Revision(
                user_id=user_id,
                revision=r,
                created_at=created,
                reason=reason,
                profile=parse_profile(text, user_id, r, "profile revision"),
                undone_at=undone,
            )
            for r, created, reason, text, undone in rows
        ]

    def delete_profile(self, user_id: str) -> None:
        check_id(user_id)
        with self.db.write() as con:
            # Foreign keys cascade to profiles, revisions, feedback, sessions and turns.
            if not con.execute("DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount:
                raise NotFoundError(f"user {user_id!r} not found")

    # --- feedback -------------------------------------------------------------------------------

    def feedback(self, user_id: str, *, limit: int | None = None) -> list[FeedbackRecord]:
        check_id(user_id)
        n = _limit(limit)
        with self.db.read() as con:
            self._require_user(con, user_id)
            rows = con.execute(
                "SELECT id, item_id, kind, created_at, session_id, revision FROM feedback "
                "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                (user_id, n),
            ).fetchall()
        return [
            FeedbackRecord(
                id=i, user_id=user_id, item_id=item, kind=kind, created_at=at, session_id=sid, revision=rev
            )
            for i, item, kind, at, sid, rev in rows
        ]

    # --- sessions -------------------------------------------------------------------------------

    def start_session(self, user_id: str) -> str:
        check_id(user_id)
        session_id = uuid.uuid4().hex
        with self.db.write() as con:
            _, now = self._now()
            self._ensure_user(con, user_id, now, create=True)
            con.execute(
                "INSERT INTO sessions (session_id, user_id, created_at) VALUES (?, ?, ?)",
                (session_id, user_id, now),
            )
        return session_id

    def session(self, session_id: str) -> SessionRecord:
        check_id(session_id, "session id")
        with self.db.read() as con:
            row = con.execute(
                "SELECT user_id, created_at FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return SessionRecord(session_id=session_id, user_id=row[0], created_at=row[1])

    def session_ids(self) -> list[str]:
        with self.db.read() as con:
            rows = con.execute("SELECT session_id FROM sessions ORDER BY created_at, rowid").fetchall()
        return [r[0] for r in rows]

    def get_session_state(self, session_id: str) -> dict[str, JsonValue]:
        check_id(session_id, "session id")
        with self.db.read() as con:
            row = con.execute("SELECT state_json FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return parse_session_state(row[0], session_id)

    def set_session_state(self, session_id: str, state: Mapping[str, JsonValue]) -> None:
        check_id(session_id, "session id")
        text = session_state_json(state)
        with self.db.write() as con:
            if not con.execute(
                "UPDATE sessions SET state_json = ? WHERE session_id = ?", (text, session_id)
            ).rowcount:
                raise NotFoundError(f"session {session_id!r} not found")

    def append_turn(
        self, session_id: str, role: Role, text: str, items: Sequence[ShownItem | str] | None = None
    ) -> Turn:
        check_id(session_id, "session id")
        check_turn(role, text)
        shown = shown_items(items)
        items_json = "[" + ",".join(it.model_dump_json() for it in shown) + "]"
        with self.db.write() as con:
            now_dt, now = self._now()
            owner = con.execute("SELECT user_id FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
            if owner is None:
                raise NotFoundError(f"session {session_id!r} not found")
            self._ensure_user(con, owner[0], now, create=False)
            index = con.execute(
                "SELECT COALESCE(MAX(idx), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            con.execute(
                "INSERT INTO turns (session_id, idx, role, text, created_at, items_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, index, role, text, now, items_json),
            )
        return Turn(session_id=session_id, index=index, role=role, text=text, created_at=now_dt, items=shown)

    def session_turns(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        check_id(session_id, "session id")
        n = _limit(last_n)
        with self.db.read() as con:
            if con.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)).fetchone() is None:
                raise NotFoundError(f"session {session_id!r} not found")
            rows = con.execute(
                "SELECT idx, role, text, created_at, items_json FROM turns WHERE session_id = ? "
                "ORDER BY idx DESC LIMIT ?",
                (session_id, n),
            ).fetchall()
        return [
            Turn(
                session_id=session_id,
                index=i,
                role=role,
                text=text,
                created_at=at,
                items=parse_items(items, session_id, i),
            )
            for i, role, text, at, items in reversed(rows)
        ]


def _limit(limit: int | None) -> int:
    """SQLite's LIMIT -1 means no limit."""
    n = check_limit(limit)
    return -1 if n is None else n
