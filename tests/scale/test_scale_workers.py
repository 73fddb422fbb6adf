"""`recassist serve --workers N`: N worker processes behind one port, on the shared servers."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
from scale_helpers import KEYS, children, start_server, wait_ready

pytestmark = pytest.mark.slow


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_serve_workers_runs_n_processes_behind_one_port(backends):
    server = start_server(backends, workers=2, name="workers")
    try:
        wait_ready(server)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            workers = [p for p in children(server.proc.pid) if b"spawn_main" in _cmdline(p)]
            if len(workers) == 2:
                break
            time.sleep(0.5)
        assert len(workers) == 2
        with _client(server.url, KEYS[2]) as c:
            for _ in range(10):
                assert c.post("/v1/recommendations", json={"text": "a funny animated film", "k": 3}).status_code == 200
    finally:
        server.stop(signal.SIGINT)


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
