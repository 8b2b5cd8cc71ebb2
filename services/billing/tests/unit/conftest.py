"""Fixtures for billing's unit tests: the pure domain's, and the in-memory repositories of the handler tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from billing_service.domain.acceptance import AcceptancePlan
from billing_service.domain.ledger import WORK_ORDER_REF_TYPE, Hold, HoldStatus
from billing_service.handlers import AcceptWorkOrder, accept_work_order
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from shared.contracts.workorders import AcceptanceRequest

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


@pytest.fixture
def billing() -> FakeBilling:
    """Billing's repositories, in memory and empty."""
    return FakeBilling.new()


@pytest.fixture
def uow(billing: FakeBilling) -> FakeUnitOfWork:
    """A unit of work of :data:`TENANT` over the ``billing`` fakes."""
    return FakeUnitOfWork(*billing.repositories(), tenant_id=TENANT)


@pytest.fixture
def accept(uow: FakeUnitOfWork) -> Accept:
    """Runs the acceptance saga for :data:`WORK_ORDER` (or ``work_order_id``) of :data:`TENANT`, paid by
    ``external_key`` (None: the tenant's implicit account), as delivery ``message_id`` at ``version``."""

    async def run(
        external_key: str | None = None,
        *,
        work_order_id: str = WORK_ORDER,
        message_id: str = "m-accept",
        version: int = 2,
    ) -> AcceptancePlan:
        request = AcceptanceRequest(
            report_type="valuation", bank_name="SBI", billing_external_key=external_key, tenant_id=TENANT
        )
        command = AcceptWorkOrder(work_order_id, "DATA_PENDING", request, message_id, version)
        return await accept_work_order(uow, command)

    return run
