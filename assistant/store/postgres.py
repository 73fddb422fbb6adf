"""PostgreSQL backend of the stores (`base.Stores`), for several API workers on one database.

Connections, transactions and migrations live in `postgres_db`; the SQL is shared with SQLite
(`sql_stores.SQLStores`), so both pass the same contract tests. Only PostgreSQL's spelling is
here: `%s` placeholders, `RETURNING id`, and the session row lock that numbers concurrent turns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from recassist.assistant.store.postgres_db import PostgresDB
from recassist.assistant.store.sql_stores import Connection, SQLStores, utc_now
from recassist.foundation.errors import ConfigError

if TYPE_CHECKING:
    from recassist.foundation.catalog import Catalog
    from recassist.foundation.settings import Settings


class PostgresStores(SQLStores):
    """Profiles, history, feedback and sessions in a PostgreSQL database (see `base` for the contracts).

    `url` is a libpq URL (postgresql://user:password@host:port/db). `clock` returns an aware
    datetime; tests inject a fixed one. Raises `StoreError` when the server cannot be reached or
    holds a newer schema.
    """

    db: PostgresDB
    NO_LIMIT = None  # LIMIT NULL: all rows
    # Two workers appending to one session number their turns in turn.
    ROW_LOCK = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        catalog: Catalog | None = None,
        *,
        max_connections: int = 8,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(PostgresDB(url, max_connections=max_connections), catalog, clock=clock)

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

    def _sql(self, statement: str) -> str:
        # psycopg's placeholder; no statement holds a literal "?".
        return statement.replace("?", "%s")

    def _insert_id(self, con: Connection, statement: str, params: Sequence[object]) -> int:
        return int(self._run(con, statement + " RETURNING id", params).fetchone()[0])
