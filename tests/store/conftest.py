"""Fixtures for the store contract tests: a tiny catalog, a fixed clock, and a store on each backend.

`store` (and `make_store`) run every contract test twice: on SQLite in tmp_path and on a real
PostgreSQL server started once per test session (`postgres_url` in tests/conftest.py; a fresh database
per test).
"""

from __future__ import annotations

import itertools

import pytest
from real_servers import create_database
from recassist.assistant.store import SQLiteStores
from recassist.foundation.catalog import Catalog
from store_helpers import StepClock, make_catalog

BACKENDS = ["sqlite", "postgres"]
_db_numbers = itertools.count()


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture(params=BACKENDS)
def make_store(request, tmp_path):
    """`make_store(catalog=None)` -> a fresh, empty store on the parametrized backend (closed afterwards)."""
    opened = []
    if request.param == "postgres":
        url = create_database(request.getfixturevalue("postgres_url"), f"t{next(_db_numbers)}")

    def make(catalog: Catalog | None = None):
        if request.param == "sqlite":
            s = SQLiteStores(tmp_path / "store.sqlite3", catalog, clock=StepClock())
        else:
            from recassist.assistant.store.postgres import PostgresStores

            s = PostgresStores(url, catalog, clock=StepClock())
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store, catalog):
    return make_store(catalog)
