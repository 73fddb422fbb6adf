"""Shared fixtures for retrieval tests: the synthetic catalog, settings in tmp_path, real MiniLM."""

from __future__ import annotations

import pytest
from retrieval_fixtures import make_catalog

from assistant.catalog import Catalog
from assistant.settings import Settings


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedder import get_embedder

    return get_embedder(Settings())
