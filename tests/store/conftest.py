"""Fixtures for the profile store tests: a tiny catalog, a fixed clock, a store in tmp_path."""

from __future__ import annotations

import pytest
from recassist.assistant.store import SQLiteProfileStore
from recassist.foundation.catalog import Catalog
from store_helpers import StepClock, make_catalog


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture
def store(tmp_path, catalog):
    s = SQLiteProfileStore(tmp_path / "store.sqlite3", catalog, clock=StepClock())
    yield s
    s.close()
