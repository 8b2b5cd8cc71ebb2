"""``list_field_links``: every link of the work order, newest first, with the field definitions."""

from __future__ import annotations

import uuid

from devstack.testing.data import TEST_TENANT
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.handlers.list_field_links import ListFieldLinks, list_field_links
from evidence_service.records import LinkValues
from services.evidence.tests.unit.fakes import TENANT, Fakes


async def test_links_of_every_snapshot_newest_first(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)
    item = fakes.item(wo)
    for key, version in (("property.address", 1), ("property.land_area", 2)):
        values = LinkValues(key, item.id, uuid.uuid4(), version, None, None)
        await fakes.links.add(TENANT, wo.work_order_id, uuid.uuid4(), values, None)

    overview = await list_field_links(uow, ListFieldLinks(TEST_TENANT, wo.work_order_id))

    assert [(link.field_key, link.snapshot_version) for link in overview.evidence.links] == [
        ("property.land_area", 2),
        ("property.address", 1),
    ]
    assert overview.evidence.linked_field_keys == ["property.land_area", "property.address"]
    assert [d.field_key for d in overview.field_defs][:2] == ["party.bank_name", "property.address"]
    assert (uow.published, fakes.work_orders.locked) == ([], {wo.work_order_id})
