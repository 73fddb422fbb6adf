"""PostgreSQL schema and its migrations, versioned in the `recassist_schema` table.

`MIGRATIONS[i]` takes a database from version i to i + 1. A new version is a new
list appended here, never an edit of an old one. The tables mirror the SQLite
schema (`schema.py`) so the stores behave the same; profiles stay TEXT (not
JSONB) so a profile reads back byte for byte as it was written.
"""

from __future__ import annotations

import psycopg
from recassist.foundation.errors import StoreError

# Any constant shared by every recassist process: serialises concurrent migrations of one database.
MIGRATION_LOCK = 0x72656361  # "reca"

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: users, profiles with their revision history, sessions with turns, feedback.
    [
        """CREATE TABLE users (
            user_id    TEXT PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL,
            last_seen  TIMESTAMPTZ NOT NULL
        )""",
        """CREATE TABLE profiles (
            user_id      TEXT PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
            revision     INTEGER NOT NULL CHECK (revision >= 0),
            profile_json TEXT NOT NULL,
            updated_at   TIMESTAMPTZ NOT NULL
        )""",
        """CREATE TABLE profile_revisions (
            user_id      TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            revision     INTEGER NOT NULL CHECK (revision >= 1),
            created_at   TIMESTAMPTZ NOT NULL,
            reason       TEXT NOT NULL,
            profile_json TEXT NOT NULL,
            undone_at    TIMESTAMPTZ,
            PRIMARY KEY (user_id, revision)
        )""",
        """CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX sessions_by_user ON sessions(user_id)",
        """CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
            idx        INTEGER NOT NULL CHECK (idx >= 1),
            role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text       TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            items_json TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (session_id, idx)
        )""",
        """CREATE TABLE feedback (
            id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            item_id    TEXT NOT NULL,
            kind       TEXT NOT NULL CHECK (kind IN ('like', 'dislike', 'seen', 'not_interested')),
            created_at TIMESTAMPTZ NOT NULL,
            session_id TEXT REFERENCES sessions(session_id) ON DELETE SET NULL,
            revision   INTEGER
        )""",
        "CREATE INDEX feedback_by_user ON feedback(user_id, id)",
    ],
    # 1 -> 2: per-session conversation state, so any worker can serve any turn (as SQLite's schema 2).
    [
        "ALTER TABLE sessions ADD COLUMN state_json TEXT NOT NULL DEFAULT '{}'",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: psycopg.Connection) -> int:
    """The version recorded in the database; 0 for a database recassist never wrote."""
    exists = con.execute("SELECT to_regclass('recassist_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT version FROM recassist_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(con: psycopg.Connection, where: str) -> int:
    """Bring the database on `con` to SCHEMA_VERSION; returns the version found.

    All steps run in one transaction holding an advisory lock, so workers starting together
    migrate once, in turn, and a failure part-way leaves the previous version. Raises
    `StoreError` when the database was written by a newer recassist.
    """
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        found = schema_version(con)
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"profile store {where} has schema version {found}, newer than this recassist "
                f"understands ({SCHEMA_VERSION}); upgrade recassist or point RECASSIST_DATABASE_URL elsewhere"
            )
        if found == SCHEMA_VERSION:
            return found
        con.execute("CREATE TABLE IF NOT EXISTS recassist_schema (version INTEGER NOT NULL)")
        for version in range(found, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                con.execute(statement)
        con.execute("DELETE FROM recassist_schema")
        con.execute("INSERT INTO recassist_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
    return found
