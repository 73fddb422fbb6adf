"""Fast security cases: the robustness runs (`robust_*.py` in this folder) on small samples.

bench/robustness.py runs the same modules at full size and prints the figures in docs/security.md.

Their own small prepared data dir (the 150 most-rated movies of the demo catalog, index built, a
one-epoch ranker) keeps the folder quick on its own; every component is real.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sec_settings(tmp_path_factory):
    from catalog_slices import prepare_small, write_movielens_slice
    from recassist.foundation.settings import Settings

    root = tmp_path_factory.mktemp("security")
    catalog = write_movielens_slice(root / "catalog", n_popular=150, max_user=300)
    settings = Settings(data_dir=root / "data", catalog_dir=catalog, api_rate_limit_per_minute=0)
    prepare_small(settings)
    return settings


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
