"""SQLite schema and its migrations, versioned with `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version i to i + 1. A new version is a
new list appended here, never an edit of an old one: files written by earlier
releases are upgraded in place on open.
"""

from __future__ import annotations

import sqlite3

from recassist.foundation.errors import StoreError

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: users, profiles with their revision history, sessions with turns, feedback.
    [
        """CREATE TABLE users (
            user_id    TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            last_seen  TEXT NOT NULL
        )""",
        # The current profile, copied from its revision so a read is one row; revision 0 = empty.
        """CREATE TABLE profiles (
            user_id      TEXT PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
            revision     INTEGER NOT NULL CHECK (revision >= 0),
            profile_json TEXT NOT NULL,
            updated_at   TEXT NOT NULL
        )""",
        """CREATE TABLE profile_revisions (
            user_id      TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            revision     INTEGER NOT NULL CHECK (revision >= 1),
            created_at   TEXT NOT NULL,
            reason       TEXT NOT NULL,
            profile_json TEXT NOT NULL,
            undone_at    TEXT,
            PRIMARY KEY (user_id, revision)
        )""",
        """CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_by_user ON sessions(user_id)",
        """CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
            idx        INTEGER NOT NULL CHECK (idx >= 1),
            role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text       TEXT NOT NULL,
            created_at TEXT NOT NULL,
            items_json TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (session_id, idx)
        )""",
        """CREATE TABLE feedback (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            item_id    TEXT NOT NULL,
            kind       TEXT NOT NULL CHECK (kind IN ('like', 'dislike', 'seen', 'not_interested')),
            created_at TEXT NOT NULL,
            session_id TEXT REFERENCES sessions(session_id) ON DELETE SET NULL,
            revision   INTEGER
        )""",
        "CREATE INDEX feedback_by_user ON feedback(user_id, id)",
    ],
    # 1 -> 2: per-session conversation state (e.g. onboarding questions asked), so any worker can
    # serve any turn. Sessions written before get the empty state.
    [
        "ALTER TABLE sessions ADD COLUMN state_json TEXT NOT NULL DEFAULT '{}'",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: sqlite3.Connection) -> int:
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def migrate(con: sqlite3.Connection, path: str = "") -> int:
    """Bring the database on `con` (autocommit mode) to SCHEMA_VERSION; returns the version found.

    Each step runs in one transaction together with its `user_version` bump, so
    a crash mid-migration leaves the previous version intact. Raises `StoreError`
    when the file was written by a newer recassist.
    """
    found = schema_version(con)
    if found == SCHEMA_VERSION:
        return found
    # IMMEDIATE takes the write lock now: two processes opening a new file migrate it once, in turn.
    con.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(con)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"profile store {path or '(database)'} has schema version {current}, newer than this "
                f"recassist understands ({SCHEMA_VERSION}); upgrade recassist "
                "or point RECASSIST_DATA_DIR elsewhere"
            )
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            # PRAGMA takes no bound parameters; `version` is our own int.
            con.execute(f"PRAGMA user_version = {version + 1}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return found
