"""``link_evidence``: create or overwrite evidence items, all or nothing (domain.md §1.6)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from devstack.testing.data import TEST_TENANT, TEST_USER
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import DocumentsNotFound, EvidenceItemNotFound, WorkOrderLocked
from evidence_service.handlers.link_evidence import ItemToLink, LinkEvidence, link_evidence
from evidence_service.records import ItemValues, WorkOrder
from services.evidence.tests.unit.fakes import OTHER, TENANT, Fakes
from shared.contracts.evidence import EvidenceState

PHOTO = ItemValues(
    "PHOTO", None, None, None, None, None, "demo://p.jpg", None, None, None, {"kind": "exterior"}
)


def _link(wo: WorkOrder, *items: ItemToLink) -> LinkEvidence:
    return LinkEvidence(TEST_TENANT, wo.work_order_id, items, TEST_USER)


async def test_new_items_are_created_and_published_once(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)
    document = fakes.document(TENANT)
    deed = dataclasses.replace(PHOTO, evidence_type="DOCUMENT", doc_type="SALE_DEED", document_id=document.id)

    evidence = await link_evidence(uow, _link(wo, ItemToLink(None, PHOTO), ItemToLink(None, deed)))

    assert [ItemValues.of(item) for item in fakes.items.of(TENANT)] == [PHOTO, deed]
    assert [ItemValues.of(item) for item in evidence.items] == [PHOTO, deed]
    (state,) = uow.events_of(EvidenceState.TYPE)
    assert (state["evidence_version"], len(state["items"])) == (1, 2)
    assert fakes.work_orders.locked == {wo.work_order_id}


async def test_an_overwrite_replaces_every_column_and_a_resend_changes_nothing(
    fakes: Fakes, uow: FakeUnitOfWork
) -> None:
    wo = fakes.work_order(TENANT)
    existing = fakes.item(wo, "PHOTO", file_ref="demo://old.jpg", annexure_order=3)

    await link_evidence(uow, _link(wo, ItemToLink(existing.id, PHOTO)))
    await link_evidence(uow, _link(wo, ItemToLink(existing.id, PHOTO)))

    assert [ItemValues.of(item) for item in fakes.items.of(TENANT)] == [PHOTO]
    assert [state["evidence_version"] for state in uow.events_of(EvidenceState.TYPE)] == [1]


@pytest.mark.parametrize("owner", [None, OTHER], ids=["unknown", "other-tenant"])
async def test_documents_the_caller_cannot_see_fail_the_whole_request(
    fakes: Fakes, uow: FakeUnitOfWork, owner: uuid.UUID | None
) -> None:
    wo = fakes.work_order(TENANT)
    missing = fakes.document(owner).id if owner else uuid.uuid4()
    item = ItemToLink(None, dataclasses.replace(PHOTO, document_id=missing))

    with pytest.raises(DocumentsNotFound) as raised:
        await link_evidence(uow, _link(wo, ItemToLink(None, PHOTO), item))

    assert raised.value.details == {"document_ids": [str(missing)]}
    assert (fakes.items.rows, uow.published) == ({}, [])


async def test_an_overwrite_of_an_unknown_item_is_not_found(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)
    foreign = fakes.item(fakes.work_order(TENANT))

    with pytest.raises(EvidenceItemNotFound) as raised:
        await link_evidence(uow, _link(wo, ItemToLink(foreign.id, PHOTO)))

    assert raised.value.status == 404
    assert uow.published == []


async def test_a_locked_work_order_takes_no_evidence(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT, status="READY_FOR_RENDER")

    with pytest.raises(WorkOrderLocked):
        await link_evidence(uow, _link(wo, ItemToLink(None, PHOTO)))

    assert (fakes.items.rows, uow.published) == ({}, [])
