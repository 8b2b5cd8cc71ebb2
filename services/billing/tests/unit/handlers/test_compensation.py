"""Compensation on fakes (decision 10): CANCELLED/CLOSED release the acceptance hold and void a draft
acceptance invoice, once; after a successful release nothing is given back."""

from __future__ import annotations

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.handlers import CompensateWorkOrder, compensate
from billing_service.repositories import AccountState
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import WORK_ORDER, Accept, FakeBilling
from shared.contracts.billing import WorkOrderBilling


def _terminal(target: str, *, released: bool = False) -> CompensateWorkOrder:
    return CompensateWorkOrder(WORK_ORDER, target, f"m-{target}", 9, released_flag=released)


@pytest.fixture
async def credit(billing: FakeBilling, accept: Accept) -> AccountState:
    """A CREDIT account with one credit, held by the accepted :data:`WORK_ORDER`."""
    state = billing.account(mode=BillingMode.CREDIT, wallet=1)
    await accept(state.account.external_key)
    return state


@pytest.mark.parametrize("target", ["CANCELLED", "CLOSED"])
async def test_the_acceptance_hold_is_released_once(
    billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState, target: str
) -> None:
    uow.published.clear()
    await compensate(uow, _terminal(target))
    await compensate(uow, _terminal(target))
    [hold] = billing.ledger.holds.values()
    assert (hold.status, hold.release_reason) == ("released", target.lower())
    assert billing.ledger.entry_rows[-1].idempotency_key == f"repogen_{target.lower()}_release:{WORK_ORDER}"
    assert billing.accounts.states[credit.account.id].balance.available == 1
    row = billing.work_orders.rows[WORK_ORDER]
    assert (row.status, row.source_version) == (target, 9)
    [published] = uow.events_of(WorkOrderBilling.TYPE)
    assert published["hold"]["status"] == "released"


@pytest.mark.parametrize(("target", "status", "voided"), [("CANCELLED", "void", 1), ("CLOSED", "draft", 0)])
async def test_only_a_cancellation_voids_the_draft_invoice(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept, target: str, status: str, voided: int
) -> None:
    plan = await accept()
    invoice_id = plan.service_invoice_id
    assert invoice_id is not None
    await compensate(uow, _terminal(target))
    assert billing.invoices.rows[invoice_id].status == status
    assert len(billing.usage.of_type("invoice_voided")) == voided
    assert len(uow.events_of(WorkOrderBilling.TYPE)) == 1 + voided


@pytest.mark.usefixtures("credit")
@pytest.mark.parametrize("released_by", ["event", "row"])
async def test_after_a_successful_release_nothing_is_given_back(
    billing: FakeBilling, uow: FakeUnitOfWork, released_by: str
) -> None:
    if released_by == "row":
        await billing.work_orders.record_gate(WORK_ORDER, {}, has_successful_release=True)
    published = len(uow.published)
    await compensate(uow, _terminal("CANCELLED", released=released_by == "event"))
    assert [h.status for h in billing.ledger.holds.values()] == ["active"]
    assert len(uow.published) == published
    assert billing.work_orders.rows[WORK_ORDER].status == "CANCELLED"


async def test_an_unknown_work_order_is_ignored(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    await compensate(uow, _terminal("CANCELLED"))
    assert (billing.work_orders.rows, uow.published) == ({}, [])
