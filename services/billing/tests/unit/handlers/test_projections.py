"""The ``work_order_billing`` projection on fakes: what it says of a row, and its publication."""

from __future__ import annotations

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.handlers.projections import emit_work_order_billing, work_order_billing
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from shared.contracts.billing import WorkOrderBilling


async def test_a_followed_work_order_has_no_billing_state_yet(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    row = billing.work_order(work_order_id=WORK_ORDER)
    projected = await work_order_billing(uow, row)
    assert projected == WorkOrderBilling(work_order_id=WORK_ORDER, planned_consumption_logged=False)


async def test_hold_and_invoice_are_read_from_their_repositories(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
) -> None:
    state = billing.account(mode=BillingMode.CREDIT, wallet=1)
    await accept(state.account.external_key)
    invoice = billing.account("v1:partner:postpaid")
    await accept(invoice.account.external_key, work_order_id="33333333-3333-4333-8333-333333333333")
    [hold] = billing.ledger.holds.values()
    [draft] = billing.invoices.rows.values()
    credit = await work_order_billing(uow, billing.work_orders.rows[WORK_ORDER])
    postpaid = await work_order_billing(uow, billing.work_orders.rows[draft.work_order_id or ""])
    assert (credit.mode, credit.hold and credit.hold.id, credit.invoice) == ("CREDIT", hold.id, None)
    assert (postpaid.mode, postpaid.hold) == ("POSTPAID", None)
    assert postpaid.invoice is not None
    assert (postpaid.invoice.id, postpaid.invoice.status, postpaid.invoice.amount_due_minor) == (
        draft.id,
        "DRAFT",
        10000,
    )


async def test_emit_publishes_at_the_given_version(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    billing.work_order(work_order_id=WORK_ORDER)
    event = await emit_work_order_billing(uow, WORK_ORDER, 7, "m-cause")
    [(topic, key, envelope)] = uow.outbox
    assert (topic, key, envelope.payload) == (WorkOrderBilling.TOPIC, WORK_ORDER, event.to_payload())
    assert (envelope.aggregate_version, envelope.tenant_id, envelope.causation_id) == (7, TENANT, "m-cause")


async def test_emit_needs_the_row(uow: FakeUnitOfWork) -> None:
    with pytest.raises(LookupError):
        await emit_work_order_billing(uow, WORK_ORDER, 1, None)
