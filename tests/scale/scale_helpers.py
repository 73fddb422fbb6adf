"""A scale-out deployment on loopback for tests and the benchmark: PostgreSQL, Redis, a Chroma server,
a prepared data dir, and API servers started with the real `recassist serve` command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from catalog_slices import write_movielens_slice
from real_servers import chroma_server, create_database, free_port, postgres_server, redis_server
from recassist.foundation.settings import Settings

# The deployment the tests start: API keys (each its own rate-limit bucket) and a low limit to test.
RATE_PER_MINUTE = 60
KEYS = [f"key{i}" for i in range(24)]  # the last one is the rate-limit test's own caller


def write_tiny_catalog(dst: Path, *, n_items: int = 80, max_user: int = 150) -> Path:
    """The `n_items` most-rated demo movies among users 1..max_user, MovieLens format, in `dst`."""
    return write_movielens_slice(dst, n_popular=n_items, max_user=max_user, tags=False)


@dataclass
class Backends:
    """Environment for `recassist` processes using the shared servers (empty values: embedded)."""

    env: dict[str, str]
    root: Path
    stack: ExitStack = field(default_factory=ExitStack)

    def settings(self) -> Settings:
        return Settings(**{k.removeprefix("RECASSIST_").lower(): v for k, v in self.env.items()
                           if k.startswith("RECASSIST_")})


@contextmanager
def scale_backends(root: Path, catalog_dir: Path, *, embedded: bool = False,
                   extra_env: dict[str, str] | None = None, postgres_url: str | None = None) -> Iterator[Backends]:
    """Start PostgreSQL, Redis and a Chroma server (unless `embedded`) and prepare the data dir in `root`.
    `postgres_url`: a running PostgreSQL server to use (a database of its own is created there) instead of
    starting one."""
    root.mkdir(parents=True, exist_ok=True)
    env = {"RECASSIST_DATA_DIR": str(root / "data"), "RECASSIST_CATALOG_DIR": str(catalog_dir)}
    env.update(extra_env or {})
    with ExitStack() as stack:
        if not embedded:
            pg = postgres_url or stack.enter_context(postgres_server())
            env["RECASSIST_DATABASE_URL"] = create_database(pg, "recassist")
            env["RECASSIST_REDIS_URL"] = stack.enter_context(redis_server())
            (root / "chroma").mkdir(exist_ok=True)
            env["RECASSIST_CHROMA_URL"] = stack.enter_context(chroma_server(root / "chroma"))
        backends = Backends(env, root, stack)
        prepare_tiny(backends.settings())
        yield backends


def prepare_tiny(settings: Settings) -> None:
    """Item index (into the Chroma server when configured) and a ranker trained for one short epoch."""
    from recassist.assistant.conversation.prepare import prepare
    from recassist.ranking.sasrec_model import SASRecConfig

    cfg = SASRecConfig(max_epochs=1, hidden=32, blocks=1, max_len=20, eval_every=1, all_windows=False, threads=1)
    prepare(settings, progress=False, train_config=cfg)


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(backends: Backends, *, workers: int = 1, name: str = "api",
                 extra_env: dict[str, str] | None = None) -> Server:
    """`recassist serve --no-ui --no-llm --workers N` on a free loopback port (not yet ready: see `wait_ready`)."""
    port = free_port()
    log = backends.root / f"{name}-{port}.log"
    env = {**os.environ, **backends.env, **(extra_env or {})}
    cmd = [sys.executable, "-m", "recassist.cli", "serve", "--no-ui", "--no-llm", "--port", str(port),
           "--workers", str(workers)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Server(proc, f"http://127.0.0.1:{port}", log)


def wait_ready(server: Server, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready within {timeout_s:g} s:\n{server.log.read_text()[-3000:]}")


@contextmanager
def ready_servers(backends: Backends, names: tuple[str, ...], extra_env: dict[str, str] | None = None
                  ) -> Iterator[list[Server]]:
    """One ready API server per name on the shared backends, stopped on exit."""
    servers = [start_server(backends, name=n, extra_env=extra_env) for n in names]
    try:
        for s in servers:
            wait_ready(s)
        yield servers
    finally:
        for s in servers:
            s.stop()


def children(pid: int) -> list[int]:
    """Direct child process ids of `pid` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out
