"""Fixtures for the ranking tests; the data itself is built in `ranking_synthetic`."""

from __future__ import annotations

import pytest
from ranking_synthetic import Synthetic, make_synthetic


@pytest.fixture(scope="session")
def synth() -> Synthetic:
    return make_synthetic()
