"""Fixtures for billing's pure-domain unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from billing_service.domain.ledger import WORK_ORDER_REF_TYPE, Hold, HoldStatus

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


@pytest.fixture
def make_hold() -> Callable[..., Hold]:
    """Holds of ``acc-1``: by default the active one-credit hold ``h-1`` of work order ``W``'s acceptance,
    taken at :data:`NOW` without expiry; keyword arguments change any field."""
    accepted = Hold(
        id="h-1",
        account_id="acc-1",
        ref_type=WORK_ORDER_REF_TYPE,
        ref_id="W",
        amount=1,
        status=HoldStatus.ACTIVE,
        idempotency_key="repogen_accept_reserve:W",
        created_at=NOW,
        expires_at=None,
    )
    return lambda **changes: replace(accepted, **changes)
