"""``list_documents``: the tenant's documents newest first, bounded, optionally of one work order."""

from __future__ import annotations

import uuid

from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.handlers.list_documents import DEFAULT_LIMIT, ListDocuments, list_documents
from services.evidence.tests.unit.fakes import OTHER, TENANT, Fakes


async def test_newest_first_and_only_the_tenants(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    older = fakes.document(TENANT, original_filename="older.pdf")
    fakes.document(OTHER, original_filename="foreign.pdf")
    newer = fakes.document(TENANT, original_filename="newer.png", classification="site_photo")

    listed = await list_documents(uow, ListDocuments(TENANT))

    assert listed == [newer, older]
    assert uow.commits == 0


async def test_the_limit_keeps_the_newest(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    documents = [fakes.document(TENANT, original_filename=f"{n}.pdf") for n in range(DEFAULT_LIMIT + 5)]
    newest_first = documents[::-1]

    assert await list_documents(uow, ListDocuments(TENANT)) == newest_first[:DEFAULT_LIMIT]
    assert await list_documents(uow, ListDocuments(TENANT, limit=2)) == newest_first[:2]


async def test_of_one_work_order_only_its_linked_documents(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo, other_wo = fakes.work_order(TENANT), fakes.work_order(TENANT)
    deed, plan, loose, elsewhere = (fakes.document(TENANT) for _ in range(4))
    fakes.item(wo, "DOCUMENT", doc_type="SALE_DEED", document_id=deed.id)
    fakes.item(wo, "DOCUMENT", doc_type="PLAN", document_id=plan.id)
    fakes.item(wo, "PHOTO", file_ref="demo://photo.jpg")  # evidence by reference: no document
    fakes.item(other_wo, "DOCUMENT", doc_type="RTC", document_id=elsewhere.id)

    listed = await list_documents(uow, ListDocuments(TENANT, work_order_id=wo.work_order_id))

    assert listed == [plan, deed]
    assert loose not in listed


async def test_an_unknown_or_foreign_work_order_lists_nothing(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    foreign = fakes.work_order(OTHER)
    fakes.item(foreign, "DOCUMENT", document_id=fakes.document(OTHER).id)
    fakes.document(TENANT)

    for work_order_id in (uuid.uuid4(), foreign.work_order_id):
        assert await list_documents(uow, ListDocuments(TENANT, work_order_id=work_order_id)) == []
