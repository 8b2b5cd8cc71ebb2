"""``read_evidence``: the whole evidence state of one work order, read without a lock or an event."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.data import TEST_TENANT
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import WorkOrderNotFound
from evidence_service.handlers.read_evidence import ReadEvidence, read_evidence
from evidence_service.records import NewOcrJob
from services.evidence.tests.unit.fakes import OTHER, TENANT, Fakes


async def test_reads_items_documents_and_jobs_of_the_work_order(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT, evidence_version=4)
    document = fakes.document(TENANT)
    later, first = fakes.item(wo, annexure_order=2, document_id=document.id), fakes.item(wo, annexure_order=1)
    fakes.item(fakes.work_order(TENANT))  # another work order's item
    job = await fakes.jobs.add(TENANT, NewOcrJob(uuid.uuid4(), wo.work_order_id, first.id, None))

    evidence = await read_evidence(uow, ReadEvidence(TEST_TENANT, wo.work_order_id))

    assert [i.id for i in evidence.items] == [first.id, later.id]
    assert (evidence.document_of(later), evidence.document_of(first)) == (document, None)
    assert (evidence.jobs, evidence.evidence_version, evidence.work_order_id) == (
        [job],
        4,
        str(wo.work_order_id),
    )
    assert evidence.annexure_order() == {str(first.id): 1, str(later.id): 2}
    assert (uow.published, uow.commits, fakes.work_orders.locked) == ([], 0, set())


@pytest.mark.parametrize("owner", [None, OTHER], ids=["unknown", "other-tenant"])
async def test_a_work_order_the_tenant_cannot_see_is_not_found(
    fakes: Fakes, uow: FakeUnitOfWork, owner: uuid.UUID | None
) -> None:
    wo_id = fakes.work_order(owner).work_order_id if owner else uuid.uuid4()

    with pytest.raises(WorkOrderNotFound) as raised:
        await read_evidence(uow, ReadEvidence(TEST_TENANT, wo_id))

    assert (raised.value.code, raised.value.status) == ("WORK_ORDER_NOT_FOUND", 404)
