"""PostgreSQL schema and its migrations, versioned in the `recassist_schema` table.

`MIGRATIONS[i]` takes a database from version i to i + 1. A new version is a new
list appended here, never an edit of an old one. The tables are SQLite's
(`tables.py` defines both) so the stores behave the same; profiles stay TEXT (not
JSONB) so a profile reads back byte for byte as it was written.
"""

from __future__ import annotations

import psycopg
from recassist.assistant.store.tables import VERSION_2, version_1
from recassist.foundation.errors import StoreError

# Any constant shared by every recassist process: serialises concurrent migrations of one database.
MIGRATION_LOCK = 0x72656361  # "reca"

MIGRATIONS: list[list[str]] = [
    version_1(timestamp="TIMESTAMPTZ", feedback_id="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    VERSION_2,
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
