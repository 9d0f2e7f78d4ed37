"""Shared fixtures. Tests mirror the code: tests/actors/..., tests/kraken/..., etc."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of committed test data (each file's source is noted in its README)."""
    return FIXTURES


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Each test starts and ends with structlog's defaults and no root log handlers.

    Tests that run CLI commands in-process configure logging to the stream of the moment
    (pytest's capture, closed after the test); later tests must not log into it.
    """
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()
