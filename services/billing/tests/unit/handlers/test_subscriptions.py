"""Subscriptions before Billing 3 on fakes: nothing is due and no tenant has a subscription."""

from __future__ import annotations

import pytest

from billing_service.handlers.subscriptions import (
    RefillDueReport,
    RefillDueSubscriptions,
    current_subscription,
    refill_due_subscriptions,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling


@pytest.mark.parametrize("dry_run", [True, False])
async def test_refill_due_scans_nothing_and_changes_nothing(
    billing: FakeBilling, uow: FakeUnitOfWork, dry_run: bool
) -> None:
    billing.account()
    report = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=100, dry_run=dry_run))
    assert report == RefillDueReport(dry_run=dry_run)
    assert (report.scanned, report.refilled, report.errors) == (0, 0, [])
    assert (uow.published, billing.ledger.entry_rows, billing.usage.rows) == ([], [], {})


async def test_no_tenant_has_a_subscription(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    billing.account()
    assert await current_subscription(uow, TENANT) is None
