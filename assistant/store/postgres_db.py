"""A PostgreSQL database through a psycopg 3 connection pool: transactions and error translation.

Why this shape: every worker process holds a small pool (threads of one worker share it);
a write runs in one transaction and takes the user's row lock first (`SELECT ... FOR UPDATE`
or the upsert that records the user), so two read-modify-write updates of one profile from
any number of workers queue instead of losing one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from recassist.assistant.store.postgres_schema import migrate
from recassist.foundation.errors import ConfigError, StoreError

try:
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as e:  # pragma: no cover - depends on the install
    raise ConfigError(
        f"the PostgreSQL store needs psycopg 3 and psycopg_pool ({e.name} is missing): "
        "pip install 'recassist[postgres]'"
    ) from None


def redact(url: str) -> str:
    """`url` with any password replaced by '***', for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


class PostgresDB:
    """A pool of connections to `url`, migrated to the current schema on open.

    Raises `StoreError` when the server cannot be reached within `connect_timeout_s`
    or holds a schema newer than this code.
    """

    def __init__(self, url: str, *, max_connections: int = 8, connect_timeout_s: float = 10.0) -> None:
        self.where = redact(url)
        self.connect_timeout_s = connect_timeout_s
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            # Plain transactions (not autocommit): every `write()` / `read()` ends in COMMIT or ROLLBACK.
            kwargs={"connect_timeout": max(1, int(connect_timeout_s))},
            timeout=connect_timeout_s,
            open=False,
            name="recassist-store",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
            with self._pool.connection() as con:
                con.autocommit = True
                try:
                    migrate(con, self.where)
                finally:
                    con.autocommit = False
        except PoolTimeout:
            self._pool.close()
            raise StoreError(
                f"cannot connect to the profile store {self.where} within {connect_timeout_s:g} s; "
                "check RECASSIST_DATABASE_URL and that PostgreSQL is running"
            ) from None
        except psycopg.Error as e:
            self._pool.close()
            raise self.translate(e) from None
        except BaseException:
            self._pool.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """One transaction: all of it is committed or none (rolled back on any exception)."""
        try:
            with self._pool.connection() as con, con.transaction():
                yield con
        except PoolTimeout:
            raise StoreError(
                f"profile store {self.where}: no free connection within {self.connect_timeout_s:g} s; try again"
            ) from None
        except psycopg.Error as e:
            raise self.translate(e) from None

    write = transaction
    read = transaction

    def translate(self, e: psycopg.Error) -> StoreError:
        """The `StoreError` to raise for a driver error, worded for the person running the server."""
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, psycopg.OperationalError):
            return StoreError(f"profile store {self.where} is unreachable ({text}); check that PostgreSQL is running")
        return StoreError(f"profile store {self.where}: {text}")

    def close(self) -> None:
        """Close every pooled connection; later use raises `StoreError`."""
        self._pool.close()
