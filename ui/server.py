"""Serving the app with uvicorn: bind first (so a busy port is a clear error), then announce when ready."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from recassist.foundation.errors import ConfigError
from recassist.ui.app import UI_PATH

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Urls:
    base: str

    @property
    def ui(self) -> str:
        return f"{self.base}{UI_PATH}/"

    @property
    def api(self) -> str:
        return f"{self.base}/v1"

    @property
    def docs(self) -> str:
        return f"{self.base}/docs"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port). Raises `ConfigError` when it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror}); choose another with --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def urls_for(sock: socket.socket) -> Urls:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return Urls(f"http://{shown}:{port}")


def make_server(app: FastAPI, *, log_level: str = "warning") -> uvicorn.Server:
    # One event loop, the engine's blocking calls in FastAPI's / Gradio's thread pools.
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))


def serve(app: FastAPI, sock: socket.socket, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until Ctrl+C; `on_ready` runs once the server accepts connections."""
    server = make_server(app)
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
    server.run(sockets=[sock])


def serve_workers(
    sock: socket.socket, workers: int, *, use_llm: bool, ui: bool, on_ready: Callable[[], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve with `workers` processes sharing `sock` (uvicorn's supervisor) until Ctrl+C.

    Each worker is a fresh (spawned) process that opens the engine from the environment's settings
    and loads the read-only model files once. The supervisor restarts a worker that dies and, on
    SIGHUP, replaces the workers one by one, each new one serving before the old one stops (a new
    model reaches every worker without downtime). `on_ready` runs once a worker answers /readyz.
    """
    import os

    from recassist.ui.worker import OPTIONS_ENV, worker_options
    from uvicorn.supervisors import Multiprocess

    os.environ[OPTIONS_ENV] = worker_options(use_llm=use_llm, ui=ui)  # inherited by the spawned workers
    config = uvicorn.Config(
        "recassist.ui.worker:create_worker_app", factory=True, workers=workers, log_level=log_level,
        timeout_graceful_shutdown=5,
        # Opening the engine takes seconds of GIL-heavy loading; the supervisor's health ping must not
        # count a worker that is still loading as hung (nor a restart's replacement as failed).
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
    )
    if on_ready is not None:
        threading.Thread(target=_when_ready, args=(urls_for(sock), on_ready), daemon=True).start()
    Multiprocess(config, sockets=[sock]).run()


WORKER_START_TIMEOUT_S = 300


def _when_ready(urls: Urls, callback: Callable[[], None]) -> None:
    import httpx

    base = urls.base.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                callback()
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def _when_started(server: uvicorn.Server, callback: Callable[[], None]) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    callback()
