"""SQLite schema and its migrations, versioned with `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version i to i + 1. A new version is a
new list appended here, never an edit of an old one: files written by earlier
releases are upgraded in place on open.
"""

from __future__ import annotations

import sqlite3

from recassist.assistant.store.tables import VERSION_2, version_1
from recassist.foundation.errors import StoreError

MIGRATIONS: list[list[str]] = [
    version_1(timestamp="TEXT", feedback_id="INTEGER PRIMARY KEY AUTOINCREMENT"),
    VERSION_2,
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
