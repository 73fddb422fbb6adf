"""One scale-out deployment for the module: PostgreSQL, Redis, a Chroma server, two API servers.

The two servers are separate `recassist serve` processes on their own ports, so each test can send
a request to a chosen one (as a load balancer in front of N workers may); `--workers N` behind one
port is tested on its own.
"""

from __future__ import annotations

import pytest
from scale_helpers import KEYS, RATE_PER_MINUTE, ready_servers, scale_backends, write_tiny_catalog


@pytest.fixture(scope="session")
def backends(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    env = {"RECASSIST_API_KEYS": ",".join(KEYS), "RECASSIST_API_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE)}
    with scale_backends(root, write_tiny_catalog(root / "catalog"), extra_env=env) as b:
        yield b


@pytest.fixture(scope="module")
def pair(backends):
    """Two running API servers (A, B) on the shared backends."""
    with ready_servers(backends, ("a", "b")) as servers:
        yield servers
