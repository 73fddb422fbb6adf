"""Fast security cases: the robustness runs (`robust_*.py` in this folder) on small samples.

bench/robustness.py runs the same modules at full size and prints the figures in docs/security.md.

A small prepared data dir (the 100 most-rated movies among the demo catalog's first 200 users, index built, a
one-epoch ranker: a copy of the one the UI tests copy, see tests/conftest.py) keeps the folder quick; every
component is real.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sec_settings(small_prepared, tmp_path_factory):
    """A copy of the session's small prepared data dir (tests/conftest.py), the folder's own; no rate limit."""
    from catalog_slices import copy_data_dir

    data = copy_data_dir(small_prepared.data_dir, tmp_path_factory.mktemp("security") / "data")
    return small_prepared.model_copy(update={"data_dir": data, "api_rate_limit_per_minute": 0})


@pytest.fixture(scope="session")
def sec_assistant(sec_settings):
    """The real Assistant without an LLM (text rules, template reasons)."""
    from recassist.assistant.conversation import Assistant

    return Assistant.open(sec_settings, use_llm=False)


@pytest.fixture(scope="session")
def popular_titles(sec_assistant) -> list[str]:
    pop = sec_assistant.catalog.popularity
    return [sec_assistant.catalog.items[i].label for i in sorted(pop, key=lambda i: -pop[i])[:20]]


@pytest.fixture(scope="session")
def sec_app(sec_assistant, sec_settings):
    """The API (no UI) over the Assistant: one app for the folder, so the shipped books catalog (its EASE ranker,
    its text index) loads once, not once per module."""
    from recassist.ui.app import create_app

    return create_app(sec_assistant, sec_settings, ui=False)


@pytest.fixture(scope="session")
def served(sec_app):
    """`sec_app` served over loopback."""
    from loopback import running

    with running(sec_app) as url:
        yield url
