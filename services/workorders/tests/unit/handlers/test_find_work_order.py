"""find_work_order: the work order as stored, or None."""

from __future__ import annotations

import uuid

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import FakeStore
from workorders_service.handlers.find_work_order import FindWorkOrder, find_work_order


async def test_finds_the_stored_work_order(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add(status="EVIDENCE_PENDING")
    assert await find_work_order(uow, FindWorkOrder(wo.id)) == wo


async def test_an_unknown_id_is_none_and_writes_nothing(uow: FakeUnitOfWork) -> None:
    assert await find_work_order(uow, FindWorkOrder(uuid.uuid4())) is None
    assert uow.published == []
    assert uow.commits == 0
