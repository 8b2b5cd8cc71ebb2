"""Fixtures for billing's pure-domain unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

NOW = datetime(2026, 2, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def ids() -> Callable[[], str]:
    """Deterministic ids ``id-1``, ``id-2``, …"""
    counter = itertools.count(1)
    return lambda: f"id-{next(counter)}"


@pytest.fixture
def now() -> datetime:
    """A fixed instant."""
    return NOW
