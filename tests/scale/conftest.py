"""One scale-out deployment for the session: PostgreSQL (the session's), Redis, a Chroma server, two API
servers.

The two servers are separate `recassist serve` processes on their own ports, so each test can send
a request to a chosen one (as a load balancer in front of N workers may); `--workers N` behind one
port is tested on its own. Beside the films they serve a 40-book goodbooks slice (not the shipped
3,000 books), so a server's first chat turn, which loads every catalog to choose the domain, takes
a fraction of a second instead of seconds.
"""

from __future__ import annotations

import pytest
from catalog_slices import share_embedding_graphs, write_goodbooks_slice
from scale_helpers import KEYS, RATE_PER_MINUTE, ready_servers, scale_backends, write_tiny_catalog


@pytest.fixture(scope="session")
def backends(tmp_path_factory, postgres_url):
    root = tmp_path_factory.mktemp("scale")
    env = {"RECASSIST_API_KEYS": ",".join(KEYS), "RECASSIST_API_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE),
           "RECASSIST_EXTRA_CATALOG_DIRS": str(write_goodbooks_slice(root / "books", n_books=40))}
    with scale_backends(root, write_tiny_catalog(root / "catalog"), extra_env=env, postgres_url=postgres_url) as b:
        share_embedding_graphs(b.settings())  # as a first start leaves them: each server need not export
        yield b


@pytest.fixture(scope="session")
def pair(backends):
    """Two running API servers (A, B) on the shared backends, for every module of the folder."""
    with ready_servers(backends, ("a", "b")) as servers:
        yield servers
