"""Fast security cases: the bench's robustness modules (bench/robust_*.py) run on small samples here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))


@pytest.fixture(scope="module")
def served(rules_assistant, small_settings):
    """The API (no UI) over the shared prepared slice, rules only, served over loopback."""
    from recassist.ui.app import create_app
    from robust_common import serving

    settings = small_settings.model_copy(update={"api_rate_limit_per_minute": 0})
    with serving(create_app(rules_assistant, settings, ui=False)) as url:
        yield url
