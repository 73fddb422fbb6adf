"""Fixtures for the profile store tests: a tiny catalog, a fixed clock, a store in tmp_path."""

from __future__ import annotations

import pytest
from store_helpers import StepClock, make_catalog

from assistant.catalog import Catalog
from assistant.store import SQLiteProfileStore


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture
def store(tmp_path, catalog):
    s = SQLiteProfileStore(tmp_path / "store.sqlite3", catalog, clock=StepClock())
    yield s
    s.close()
