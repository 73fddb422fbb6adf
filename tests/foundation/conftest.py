"""Shared fixtures: the real demo catalog, the real embedded LLM, fake LLMs for failure paths only."""

from __future__ import annotations

import pytest
from foundation_helpers import ScriptedLLM
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.errors import LLMTimeoutError
from recassist.foundation.settings import DEMO_CATALOG_DIR


@pytest.fixture(scope="session")
def catalog():
    return load_catalog_cached(str(DEMO_CATALOG_DIR))


@pytest.fixture(scope="session")
def local_llm():
    """The real embedded SmolLM2 (loads in well under a second), on one thread as in tests/conftest.py."""
    from recassist.assistant.llm.local import LocalLlamaClient

    return LocalLlamaClient(threads=1, timeout_s=60.0)


@pytest.fixture
def timing_out_llm():
    return ScriptedLLM([LLMTimeoutError("no answer within 0.1 s", backend="scripted", model="scripted")] * 3)
