"""PostgreSQL backend of the stores (`base.Stores`), for several API workers on one database.

Connections, transactions and migrations live in `postgres_db`; this module is the SQL for each
operation, kept parallel to `sqlite.py` so both pass the same contract tests. Each multi-row
write is one transaction that locks the user's (or session's) row before reading, so concurrent
writers from any worker serialise per user.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
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
from recassist.assistant.store.postgres_db import PostgresDB
from recassist.assistant.store.rows import check_limit, check_turn, parse_items, parse_profile, shown_items
from recassist.foundation.errors import ConfigError, InputError, NotFoundError
from recassist.foundation.profile import InterestProfile

if TYPE_CHECKING:
    import psycopg
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PostgresStores(Stores):
    """Profiles, history, feedback and sessions in a PostgreSQL database (see `base` for the contracts).

    `url` is a libpq URL (postgresql://user:password@host:port/db). `clock` returns an aware
    datetime; tests inject a fixed one. Raises `StoreError` when the server cannot be reached or
    holds a newer schema.
    """

    def __init__(
        self,
        url: str,
        catalog: Catalog | None = None,
        *,
        max_connections: int = 8,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.db = PostgresDB(url, max_connections=max_connections)
        self.catalog = catalog
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, catalog: Catalog | None = None) -> PostgresStores:
        url = getattr(settings, "database_url", None)
        if not url:
            raise ConfigError("the postgres store needs RECASSIST_DATABASE_URL=postgresql://user:password@host/db")
        return cls(url.get_secret_value() if hasattr(url, "get_secret_value") else str(url), catalog,
                   max_connections=settings.database_pool_size)

    @property
    def where(self) -> str:
        return self.db.where

    def close(self) -> None:
        self.db.close()

    def ping(self) -> None:
        with self.db.read() as con:
            con.execute("SELECT 1 FROM users LIMIT 1").fetchall()

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _ensure_user(con: psycopg.Connection, user_id: str, now: datetime, create: bool) -> None:
        """Record the user's visit and hold their row lock until the transaction ends."""
        if con.execute("UPDATE users SET last_seen = %s WHERE user_id = %s", (now, user_id)).rowcount:
            return
        if not create:
            raise NotFoundError(f"user {user_id!r} not found")
        con.execute(
            "INSERT INTO users (user_id, created_at, last_seen) VALUES (%s, %s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET last_seen = excluded.last_seen",
            (user_id, now, now),
        )

    @staticmethod
    def _require_user(con: psycopg.Connection, user_id: str) -> None:
        if con.execute("SELECT 1 FROM users WHERE user_id = %s", (user_id,)).fetchone() is None:
            raise NotFoundError(f"user {user_id!r} not found")

    # --- profiles -------------------------------------------------------------------------------

    def get_profile(self, user_id: str, *, create: bool = False) -> InterestProfile:
        check_id(user_id)
        with self.db.read() as con:
            row = con.execute(
                "SELECT u.user_id, p.revision, p.profile_json FROM users u "
                "LEFT JOIN profiles p ON p.user_id = u.user_id WHERE u.user_id = %s",
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
            row = con.execute(
                "SELECT revision, profile_json FROM profiles WHERE user_id = %s", (user_id,)
            ).fetchone()
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

    @staticmethod
    def _write_revision(
        con: psycopg.Connection, user_id: str, profile: InterestProfile, text: str, reason: str, now: datetime
    ) -> Revision:
        number = con.execute(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM profile_revisions WHERE user_id = %s", (user_id,)
        ).fetchone()[0]
        con.execute(
            "INSERT INTO profile_revisions (user_id, revision, created_at, reason, profile_json) "
            "VALUES (%s, %s, %s, %s, %s)",
            (user_id, number, now, reason, text),
        )
        con.execute(
            "INSERT INTO profiles (user_id, revision, profile_json, updated_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET revision = excluded.revision, "
            "profile_json = excluded.profile_json, updated_at = excluded.updated_at",
            (user_id, number, text, now),
        )
        return Revision(user_id=user_id, revision=number, created_at=now, reason=reason, profile=profile)

    @staticmethod
    def _insert_feedback(
        con: psycopg.Connection,
        user_id: str,
        item_id: str,
        kind: FeedbackKind,
        session_id: str | None,
        now: datetime,
        revision: Revision | None,
    ) -> FeedbackRecord:
        if session_id is not None:
            owner = con.execute("SELECT user_id FROM sessions WHERE session_id = %s", (session_id,)).fetchone()
            # Same answer for "no such session" and "someone else's": ids of others are not confirmed.
            if owner is None or owner[0] != user_id:
                raise NotFoundError(f"session {session_id!r} not found for user {user_id!r}")
        number = revision.revision if revision else None
        row_id = con.execute(
            "INSERT INTO feedback (user_id, item_id, kind, created_at, session_id, revision) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (user_id, item_id, kind, now, session_id, number),
        ).fetchone()[0]
        return FeedbackRecord(
            id=row_id, user_id=user_id, item_id=item_id, kind=kind, created_at=now, session_id=session_id,
            revision=number,
        )

    def undo(self, user_id: str) -> UndoResult:
        check_id(user_id)
        with self.db.write() as con:
            now = self._clock()
            self._ensure_user(con, user_id, now, create=False)
            row = con.execute(
                "SELECT r.revision, r.reason FROM profiles p JOIN profile_revisions r "
                "ON r.user_id = p.user_id AND r.revision = p.revision WHERE p.user_id = %s",
                (user_id,),
            ).fetchone()
            if row is None:
                raise InputError(f"nothing to undo: the profile of user {user_id!r} has no changes left in effect")
            head, reason = row
            con.execute(
                "UPDATE profile_revisions SET undone_at = %s WHERE user_id = %s AND revision = %s",
                (now, user_id, head),
            )
            prev = con.execute(
                "SELECT revision, profile_json FROM profile_revisions "
                "WHERE user_id = %s AND revision < %s AND undone_at IS NULL ORDER BY revision DESC LIMIT 1",
                (user_id, head),
            ).fetchone()
            if prev is None:
                number, profile = 0, InterestProfile(status="empty")
            else:
                number, profile = prev[0], parse_profile(prev[1], user_id, prev[0], "profile revision")
            con.execute(
                "UPDATE profiles SET revision = %s, profile_json = %s, updated_at = %s WHERE user_id = %s",
                (number, profile.model_dump_json(), now, user_id),
            )
        return UndoResult(undone_revision=head, undone_reason=reason, revision=number, profile=profile)

    def history(self, user_id: str, *, limit: int | None = None) -> list[Revision]:
        check_id(user_id)
        n = check_limit(limit)  # LIMIT NULL: no limit
        with self.db.read() as con:
            self._require_user(con, user_id)
            rows = con.execute(
                "SELECT revision, created_at, reason, profile_json, undone_at FROM profile_revisions "
                "WHERE user_id = %s ORDER BY revision DESC LIMIT %s",
                (user_id, n),
            ).fetchall()
        return [
            Revision(user_id=user_id, revision=r, created_at=created, reason=reason,
                     profile=parse_profile(text, user_id, r, "profile revision"), undone_at=undone)
            for r, created, reason, text, undone in rows
        ]

    def delete_profile(self, user_id: str) -> None:
        check_id(user_id)
        with self.db.write() as con:
            # Foreign keys cascade to profiles, revisions, feedback, sessions and turns.
            if not con.execute("DELETE FROM users WHERE user_id = %s", (user_id,)).rowcount:
                raise NotFoundError(f"user {user_id!r} not found")

    # --- feedback -------------------------------------------------------------------------------

    def feedback(self, user_id: str, *, limit: int | None = None) -> list[FeedbackRecord]:
        check_id(user_id)
        n = check_limit(limit)
        with self.db.read() as con:
            self._require_user(con, user_id)
            rows = con.execute(
                "SELECT id, item_id, kind, created_at, session_id, revision FROM feedback "
                "WHERE user_id = %s ORDER BY id DESC LIMIT %s",
                (user_id, n),
            ).fetchall()
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
            con.execute(
                "INSERT INTO sessions (session_id, user_id, created_at) VALUES (%s, %s, %s)",
                (session_id, user_id, now),
            )
        return session_id

    def session(self, session_id: str) -> SessionRecord:
        check_id(session_id, "session id")
        with self.db.read() as con:
            row = con.execute(
                "SELECT user_id, created_at FROM sessions WHERE session_id = %s", (session_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return SessionRecord(session_id=session_id, user_id=row[0], created_at=row[1])

    def session_ids(self) -> list[str]:
        with self.db.read() as con:
            rows = con.execute("SELECT session_id FROM sessions ORDER BY created_at, session_id").fetchall()
        return [r[0] for r in rows]

    def get_session_state(self, session_id: str) -> dict[str, JsonValue]:
        check_id(session_id, "session id")
        with self.db.read() as con:
            row = con.execute("SELECT state_json FROM sessions WHERE session_id = %s", (session_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"session {session_id!r} not found")
        return parse_session_state(row[0], session_id)

    def set_session_state(self, session_id: str, state: Mapping[str, JsonValue]) -> None:
        check_id(session_id, "session id")
        text = session_state_json(state)
        with self.db.write() as con:
            if not con.execute(
                "UPDATE sessions SET state_json = %s WHERE session_id = %s", (text, session_id)
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
            now = self._clock()
            # FOR UPDATE: two workers appending to one session number their turns in turn.
            owner = con.execute(
                "SELECT user_id FROM sessions WHERE session_id = %s FOR UPDATE", (session_id,)
            ).fetchone()
            if owner is None:
                raise NotFoundError(f"session {session_id!r} not found")
            self._ensure_user(con, owner[0], now, create=False)
            index = con.execute(
                "SELECT COALESCE(MAX(idx), 0) + 1 FROM turns WHERE session_id = %s", (session_id,)
            ).fetchone()[0]
            con.execute(
                "INSERT INTO turns (session_id, idx, role, text, created_at, items_json) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (session_id, index, role, text, now, items_json),
            )
        return Turn(session_id=session_id, index=index, role=role, text=text, created_at=now, items=shown)

    def session_turns(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        check_id(session_id, "session id")
        n = check_limit(last_n)
        with self.db.read() as con:
            if con.execute("SELECT 1 FROM sessions WHERE session_id = %s", (session_id,)).fetchone() is None:
                raise NotFoundError(f"session {session_id!r} not found")
            rows = con.execute(
                "SELECT idx, role, text, created_at, items_json FROM turns WHERE session_id = %s "
                "ORDER BY idx DESC LIMIT %s",
                (session_id, n),
            ).fetchall()
        return [
            Turn(session_id=session_id, index=i, role=role, text=text, created_at=at,
                 items=parse_items(items, session_id, i))
            for i, role, text, at, items in reversed(rows)
        ]
