"""Shared fixtures. Tests mirror the code: tests/actors/..., tests/kraken/..., etc."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of committed test data (each file's source is noted in its README)."""
    return FIXTURES
