"""Fixtures for the surface tests: one real Assistant over a small prepared data dir, served over HTTP."""

from __future__ import annotations

import pytest
from recassist.assistant.conversation import Assistant
from recassist.foundation.settings import Settings
from recassist.ui.app import create_app
from ui_helpers import prepare_small, running, share_embedding_graphs, write_small_catalog


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("ui")
    settings = Settings(data_dir=root / "data", catalog_dir=write_small_catalog(root / "catalog"))
    prepare_small(settings)
    share_embedding_graphs(settings)  # as a first start leaves them: server processes on it need not export
    return settings


@pytest.fixture(scope="session")
def engine(ui_settings) -> Assistant:
    """The real Assistant, without the LLM (text rules, template reasons) to keep the suite quick."""
    return Assistant.open(ui_settings, use_llm=False)


@pytest.fixture(scope="session")
def base_url(engine, ui_settings) -> str:
    """The full app (API and chat UI), no API keys, default limits."""
    with running(create_app(engine, ui_settings)) as url:
        yield url
