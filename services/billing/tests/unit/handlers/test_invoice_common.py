"""What the invoice use cases share, on fakes: the lock order, the key check, the gate stream."""

from __future__ import annotations

import pytest

from billing_service.domain.errors import IdempotencyKeyReused
from billing_service.handlers.invoice_common import (
    IdempotencyKey,
    InvoiceActor,
    lock_invoice,
    publish_gate_state,
    remember,
    replay_of,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import WORK_ORDER, Accept, FakeBilling
from services.billing.tests.unit.handlers.conftest import Draft
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook
from shared.contracts.billing import WorkOrderBilling


class TestKeys:
    async def test_new_same_and_other(self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft) -> None:
        made = await draft("1")
        key = IdempotencyKey("invoice_send", "k", "invoice_send:x:1")
        assert await replay_of(iuow, actor, key) is None
        await remember(iuow, actor, key, made.header, {"invoice_id": made.header.id})
        stored = await replay_of(iuow, actor, key)
        assert stored is not None
        assert stored.response == {"invoice_id": made.header.id}
        with pytest.raises(IdempotencyKeyReused):
            await replay_of(iuow, actor, IdempotencyKey("invoice_send", "k", "invoice_send:x:2"))
        assert await replay_of(iuow, actor, None) is None


class TestGateStream:
    async def test_only_the_acceptance_invoice_publishes(
        self,
        billing: FakeBilling,
        book: FakeInvoiceBook,
        accept: Accept,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
        draft: Draft,
    ) -> None:
        plain = await draft("1")
        assert await publish_gate_state(iuow, plain.header) is None
        await accept()
        invoice_id = billing.work_orders.rows[WORK_ORDER].invoice_id
        assert invoice_id is not None
        locked = await lock_invoice(iuow, actor, invoice_id)
        assert book.locked[-1] == invoice_id
        version = billing.work_orders.rows[WORK_ORDER].billing_version
        assert await publish_gate_state(iuow, locked) == (WORK_ORDER, version + 1)
        assert iuow.events_of(WorkOrderBilling.TYPE)[-1]["invoice"]["id"] == invoice_id
