"""Shared fixtures for retrieval tests: the synthetic catalog, settings in tmp_path, real MiniLM."""

from __future__ import annotations

import pytest
from recassist.foundation.catalog import Catalog
from recassist.foundation.settings import Settings
from retrieval_fixtures import make_catalog


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def embedder():
    from recassist.retrieval.embedders import get_embedder

    return get_embedder(Settings())
