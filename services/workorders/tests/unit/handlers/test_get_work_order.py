"""get_work_order: the detail of domain.md §1.8 from the fakes; 404 for an unknown work order."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, TENANT, USER, FakeStore
from workorders_service.domain.errors import WorkOrderNotFound
from workorders_service.domain.model import EvidenceProjection
from workorders_service.handlers.get_work_order import GetWorkOrder, get_work_order
from workorders_service.handlers.patch_contract import PatchContract, patch_contract


async def test_the_detail_gathers_projections_snapshot_comments_and_runs(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add(report_type="STAGE_PROGRESS")
    await patch_contract(uow, PatchContract(wo.id, str(USER), {"patch": STAGE_CONTRACT}))
    first = await store.work_orders.insert_comment(
        wo, comment_type="NOTES", body="one", created_by_user_id=None
    )
    second = await store.work_orders.insert_comment(
        wo, comment_type="NOTES", body="two", created_by_user_id=None
    )
    await store.projections.upsert_billing(
        work_order_id=wo.id, tenant_id=str(TENANT), payload={"mode": "PREPAID"}, source_version=3
    )
    published = len(uow.published)

    detail = await get_work_order(uow, GetWorkOrder(wo.id))

    stored = store.work_orders.rows[wo.id]
    assert (detail.projected.work_order, detail.projected.billing_payload, detail.projected.pack) == (
        stored,
        {"mode": "PREPAID"},
        None,
    )
    assert detail.latest_snapshot is not None
    assert detail.latest_snapshot.version == 2
    assert (detail.readiness, detail.evidence) == (stored.current_readiness, EvidenceProjection())
    assert detail.comments == [second, first]
    assert [(run.input_version, run.output_version) for run in detail.rules_runs] == [(1, 2)]
    assert len(uow.published) == published, "a read publishes nothing"


async def test_without_a_stored_readiness_it_is_evaluated(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add(report_type="STAGE_PROGRESS", current_readiness=None)

    detail = await get_work_order(uow, GetWorkOrder(wo.id))

    assert detail.readiness["missing_evidence"] == ["stage_progress_photos: need at least 4, found 0"]
    assert store.work_orders.rows[wo.id].current_readiness is None, "a read stores nothing"


async def test_an_unknown_work_order_is_404(uow: FakeUnitOfWork) -> None:
    with pytest.raises(WorkOrderNotFound):
        await get_work_order(uow, GetWorkOrder(uuid.uuid4()))
