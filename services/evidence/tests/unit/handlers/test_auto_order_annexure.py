"""``auto_order_annexure``: only ``annexure_order`` changes (§4.9); one event when anything moved."""

from __future__ import annotations

import dataclasses

import pytest

from devstack.testing.data import TEST_TENANT, TEST_USER
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import WorkOrderLocked
from evidence_service.handlers.auto_order_annexure import AutoOrderAnnexure, auto_order_annexure
from evidence_service.records import ItemValues
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.contracts.evidence import EvidenceState


async def test_items_are_ordered_once_and_nothing_else_changes(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)
    deed = fakes.item(wo, "DOCUMENT", doc_type="SALE_DEED", file_ref="demo://deed.pdf", annexure_order=1)
    interior = fakes.item(wo, "PHOTO", tags={"category": "interior"})
    exterior = fakes.item(wo, "PHOTO", tags={"category": "Exterior"})
    command = AutoOrderAnnexure(TEST_TENANT, wo.work_order_id, TEST_USER)

    first = await auto_order_annexure(uow, command)
    second = await auto_order_annexure(uow, command)

    expected = {str(exterior.id): 1, str(interior.id): 2, str(deed.id): 3}
    assert (first.order, first.changed, second.order, second.changed) == (expected, True, expected, False)
    stored = {item.id: item for item in fakes.items.of(TENANT)}
    assert ItemValues.of(stored[deed.id]) == dataclasses.replace(ItemValues.of(deed), annexure_order=3)
    assert [state["annexure_order"] for state in uow.events_of(EvidenceState.TYPE)] == [expected]
    assert second.evidence.annexure_order() == expected


async def test_a_locked_work_order_keeps_its_order(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT, status="READY_FOR_RENDER")
    item = fakes.item(wo)

    with pytest.raises(WorkOrderLocked):
        await auto_order_annexure(uow, AutoOrderAnnexure(TEST_TENANT, wo.work_order_id, TEST_USER))

    assert (fakes.items.of(TENANT), uow.published) == ([item], [])
