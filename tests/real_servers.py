"""Real PostgreSQL, Redis and Chroma servers for tests, each on a free loopback port in a temp dir.

Nothing is mocked: the servers are Debian's `postgresql` and `redis-server` packages and chromadb's
own `chroma run`. When a server's package is not installed the test is skipped with a message
naming the package (CI installs them: see .ci/run). As root, PostgreSQL runs as `nobody`
(it refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from processes import free_port, stop_process, wait_for_port

__all__ = ["PIDS", "chroma_server", "create_database", "free_port", "postgres_server", "redis_server"]

# URL -> pid of the server process, for benchmarks that count the servers' CPU time.
PIDS: dict[str, int] = {}

PG_PACKAGE = "postgresql (apt-get install -y postgresql)"
REDIS_PACKAGE = "redis-server (apt-get install -y redis-server)"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "nobody", "--", *cmd]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL cluster on 127.0.0.1:<free port>; yields the URL of its `postgres` database.

    Trust auth on loopback only, fsync off (a test cluster: a power cut may lose it, nothing else).
    """
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL tests need Debian's {PG_PACKAGE}")
    root = Path(tempfile.mkdtemp(prefix="recassist-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        os.chmod(root, 0o700)
    port = free_port()
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "recassist", "--auth=trust",
                                    "--no-sync", "-E", "UTF8", "--locale=C"]),
                   check=True, capture_output=True)
    proc = subprocess.Popen(
        _as_server_user([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                         "-c", "listen_addresses=127.0.0.1",
                         "-c", f"unix_socket_directories={root}", "-c", "fsync=off", "-c", "max_connections=200",
                         "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    postmaster = None
    try:
        wait_for_port(port, proc, "postgres")
        url = f"postgresql://recassist@127.0.0.1:{port}/postgres"
        _wait_for_sql(url)
        postmaster = PIDS[url] = proc.pid if os.geteuid() != 0 else _child_or_self(proc.pid)
        yield url
    finally:
        _stop_postgres(proc, postmaster)
        shutil.rmtree(root, ignore_errors=True)


def _stop_postgres(proc: subprocess.Popen, postmaster: int | None) -> None:
    """Fast shutdown (SIGINT: clients disconnected, a clean stop) sent to the postmaster itself. runuser, its
    parent as root, forwards only SIGTERM, and then sleeps 2 s before it exits."""
    if postmaster is None or postmaster == proc.pid:
        if postmaster is not None:
            proc.send_signal(signal.SIGINT)
        stop_process(proc)
        return
    try:
        os.kill(postmaster, signal.SIGINT)
        proc.wait(timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        stop_process(proc)


def _child_or_self(pid: int) -> int:
    """runuser's child (the postmaster) when there is one: runuser stays as its parent."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    return int(entry.name)
            except (OSError, ValueError):
                continue
    return pid


def _wait_for_sql(url: str, timeout_s: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:  # "the database system is starting up"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server -> its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def redis_server(*, appendonly: bool = False) -> Iterator[str]:
    """A redis-server on 127.0.0.1:<free port>, nothing saved unless `appendonly`; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip(f"Redis tests need Debian's {REDIS_PACKAGE}")
    root = Path(tempfile.mkdtemp(prefix="recassist-redis-"))
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "yes" if appendonly else "no", "--dir", str(root), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "redis-server")
        PIDS[f"redis://127.0.0.1:{port}/0"] = proc.pid
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """chromadb's own server (`chroma run`) over `path` on 127.0.0.1:<free port>; yields its URL."""
    port = free_port()
    log = open(Path(path).parent / f"chroma-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-c", "from chromadb.cli.cli import app; app()", "run", "--path", str(path),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc, "chroma run", timeout_s=120)
        PIDS[f"http://127.0.0.1:{port}"] = proc.pid
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()
