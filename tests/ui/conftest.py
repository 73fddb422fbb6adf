"""Fixtures for the surface tests: one real Assistant over a small prepared data dir, served over HTTP."""

from __future__ import annotations

import pytest
from catalog_slices import copy_data_dir
from recassist.assistant.conversation import Assistant
from recassist.foundation.settings import Settings
from recassist.ui.app import create_app
from ui_helpers import running


@pytest.fixture(scope="session")
def ui_settings(small_prepared, tmp_path_factory) -> Settings:
    """A copy of the session's small prepared data dir (tests/conftest.py), the folder's own."""
    data = copy_data_dir(small_prepared.data_dir, tmp_path_factory.mktemp("ui") / "data")
    return small_prepared.model_copy(update={"data_dir": data})


@pytest.fixture(scope="session")
def engine(ui_settings) -> Assistant:
    """The real Assistant, without the LLM (text rules, template reasons) to keep the suite quick."""
    return Assistant.open(ui_settings, use_llm=False)


@pytest.fixture(scope="session")
def base_url(engine, ui_settings) -> str:
    """The full app (API and chat UI), no API keys, default limits."""
    with running(create_app(engine, ui_settings)) as url:
        yield url
