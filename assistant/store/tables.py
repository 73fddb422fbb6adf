"""The tables both SQL backends create, in each database's column types.

One definition, so the SQLite file and the PostgreSQL database hold the same tables and the
shared SQL (`sql_stores`) runs on both. A backend's migration list (`schema.py`,
`postgres_schema.py`) takes its steps from here; a later step only one database needs is
appended to that backend's list alone.
"""

from __future__ import annotations


def version_1(*, timestamp: str, feedback_id: str) -> list[str]:
    """0 -> 1: users, profiles with their revision history, sessions with turns, feedback.

    `timestamp` is the column type of a moment (TEXT holding ISO 8601 in SQLite), `feedback_id`
    the whole definition of the feedback table's auto-numbered key.
    """
    return [
        f"""CREATE TABLE users (
            user_id    TEXT PRIMARY KEY,
            created_at {timestamp} NOT NULL,
            last_seen  {timestamp} NOT NULL
        )""",
        # The current profile, copied from its revision so a read is one row; revision 0 = empty.
        f"""CREATE TABLE profiles (
            user_id      TEXT PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
            revision     INTEGER NOT NULL CHECK (revision >= 0),
            profile_json TEXT NOT NULL,
            updated_at   {timestamp} NOT NULL
        )""",
        f"""CREATE TABLE profile_revisions (
            user_id      TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            revision     INTEGER NOT NULL CHECK (revision >= 1),
            created_at   {timestamp} NOT NULL,
            reason       TEXT NOT NULL,
            profile_json TEXT NOT NULL,
            undone_at    {timestamp},
            PRIMARY KEY (user_id, revision)
        )""",
        f"""CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            created_at {timestamp} NOT NULL
        )""",
        "CREATE INDEX sessions_by_user ON sessions(user_id)",
        f"""CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
            idx        INTEGER NOT NULL CHECK (idx >= 1),
            role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text       TEXT NOT NULL,
            created_at {timestamp} NOT NULL,
            items_json TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (session_id, idx)
        )""",
        f"""CREATE TABLE feedback (
            id         {feedback_id},
            user_id    TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            item_id    TEXT NOT NULL,
            kind       TEXT NOT NULL CHECK (kind IN ('like', 'dislike', 'seen', 'not_interested')),
            created_at {timestamp} NOT NULL,
            session_id TEXT REFERENCES sessions(session_id) ON DELETE SET NULL,
            revision   INTEGER
        )""",
        "CREATE INDEX feedback_by_user ON feedback(user_id, id)",
    ]


# 1 -> 2: per-session conversation state (e.g. onboarding questions asked), so any worker can
# serve any turn. Sessions written before get the empty state.
VERSION_2 = ["ALTER TABLE sessions ADD COLUMN state_json TEXT NOT NULL DEFAULT '{}'"]
