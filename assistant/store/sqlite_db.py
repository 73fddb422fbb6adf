"""An SQLite file opened for many threads (and processes): connections, transactions, error translation.

Why this shape: WAL lets readers run beside the one writer; every write opens
with `BEGIN IMMEDIATE`, taking the write lock before it reads, so two
read-modify-write updates of the same row (threads or processes) queue behind
`busy_timeout` instead of losing one update or failing on lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recassist.assistant.store.schema import migrate
from recassist.foundation.errors import StoreError


class SQLiteDB:
    """One connection per thread to `path`, in WAL mode, migrated to the current schema on open.

    Raises `StoreError` when the file cannot be opened, is not a database, or
    has a schema newer than this code.
    """

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder for profile store {self.path}: {e}") from None
        con = self.connection()
        try:
            # Persistent in the file; set once here, outside any transaction as SQLite requires.
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"profile store {self.path}: could not switch to WAL mode (got {mode!r})")
            migrate(con, str(self.path))
        except sqlite3.Error as e:
            raise self.translate(e) from None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: transactions are explicit), opened on first use."""
        if self._closed:
            raise StoreError(f"profile store {self.path} is closed")
        if self._pid != os.getpid():
            # Forked child: the parent's connections must not be used (or closed) here; start afresh.
            self._local, self._conns, self._pid = threading.local(), [], os.getpid()
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                # check_same_thread=False only so close() may close every thread's connection;
                # each connection is otherwise used by the thread that opened it.
                con = sqlite3.connect(
                    self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
                )
                con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
                con.execute("PRAGMA foreign_keys = ON")
                # NORMAL is crash-safe in WAL mode (only a power cut may lose the last commits).
                con.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as e:
                raise self.translate(e) from None
            self._local.con = con
            with self._lock:
                self._conns.append(con)
        return con

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed or none (rolled back on any exception)."""
        con = self.connection()
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise self.translate(e) from None
        try:
            yield con
        except BaseException as exc:
            # SQLite may already have rolled back (e.g. disk full); a second ROLLBACK would mask `exc`.
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self.translate(exc) from None
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.Error as e:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise self.translate(e) from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so several SELECTs see one consistent snapshot."""
        con = self.connection()
        try:
            con.execute("BEGIN")
            yield con
        except sqlite3.Error as e:
            raise self.translate(e) from None
        finally:
            if con.in_transaction:
                con.execute("COMMIT")

    def translate(self, e: sqlite3.Error) -> StoreError:
        """The `StoreError` to raise for a driver error, worded for the person running the server."""
        text = str(e)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"profile store {self.path} stayed busy for more than {self.busy_timeout_s:g} s "
                "(another process holds the write lock); try again"
            )
        if isinstance(e, sqlite3.DatabaseError) and "not a database" in text:
            return StoreError(f"{self.path} is not a recassist profile store (not an SQLite database)")
        return StoreError(f"profile store {self.path}: {text}")

    def close(self) -> None:
        """Close every thread's connection; later use raises `StoreError`."""
        with self._lock:
            for con in self._conns:
                con.close()
            self._conns.clear()
            self._closed = True
