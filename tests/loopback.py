"""Serve an ASGI app over loopback in a thread, the way `recassist serve` runs it; shared by the test
folders and the benchmarks (which put `tests/` on their path; nothing here imports pytest)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from recassist.ui.server import bind, make_server, urls_for


@contextmanager
def running(app, *, start_timeout_s: float = 30.0) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields the base URL, stops the server afterwards."""
    sock = bind("127.0.0.1", 0)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"server did not start within {start_timeout_s:.0f} s")
        time.sleep(0.05)
    try:
        yield urls_for(sock).base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
