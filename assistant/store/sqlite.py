"""SQLite backend of the stores (`base.Stores`): profiles with history, feedback and sessions in one file.

Connections, transactions and locking live in `sqlite_db.SQLiteDB`; the SQL is
shared with PostgreSQL (`sql_stores.SQLStores`). Only SQLite's spelling is here:
timestamps stored as ISO text, LIMIT -1 for "all rows", the rowid of an insert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from recassist.assistant.store.sql_stores import Connection, SQLStores, utc_now
from recassist.assistant.store.sqlite_db import SQLiteDB

if TYPE_CHECKING:
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings


class SQLiteStores(SQLStores):
    """Profiles, history, feedback and sessions in one SQLite file (see `base` for the contracts).

    `clock` returns an aware datetime; tests inject a fixed one for known answers.
    Raises `StoreError` when the file cannot be opened, is not a database, or
    has a schema newer than this code.
    """

    db: SQLiteDB
    NO_LIMIT = -1  # SQLite's LIMIT -1: all rows
    SESSION_ORDER = "created_at, rowid"
    # ROW_LOCK stays empty (SQLite has no FOR UPDATE): every write holds the file's write lock already.

    def __init__(
        self,
        path: Path | str,
        catalog: Catalog | None = None,
        *,
        busy_timeout_s: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(SQLiteDB(path, busy_timeout_s=busy_timeout_s), catalog, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings, catalog: Catalog | None = None) -> SQLiteStores:
        return cls(settings.sqlite_path, catalog)

    @property
    def path(self) -> Path:
        return self.db.path

    def _stamp(self, moment: datetime) -> object:
        return moment.isoformat()

    def _insert_id(self, con: Connection, statement: str, params: Sequence[object]) -> int:
        row_id = self._run(con, statement, params).lastrowid
        assert row_id is not None  # set by every successful INSERT
        return int(row_id)

