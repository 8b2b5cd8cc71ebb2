"""The helpers several use cases share: lookups, the next event of a work order, readiness, exports."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, TENANT, FakeStore, photos
from shared.contracts.workorders import WorkOrderReopened
from workorders_service.domain.errors import SnapshotContractInvalid, WorkOrderNotFound
from workorders_service.domain.model import EvidenceProjection
from workorders_service.handlers.common import (
    emit,
    existing_work_order,
    lock_work_order,
    refresh_readiness,
    snapshot_export,
)

OTHER_TENANT = "33333333-3333-4333-8333-333333333333"


async def test_existing_work_order_is_the_stored_one_or_404(store: FakeStore) -> None:
    wo = store.work_orders.add()
    assert await existing_work_order(store.work_orders, wo.id, for_update=True) == wo
    with pytest.raises(WorkOrderNotFound) as raised:
        await existing_work_order(store.work_orders, uuid.uuid4())
    assert raised.value.code == "WORK_ORDER_NOT_FOUND"


@pytest.mark.parametrize(
    ("known", "envelope_tenant"), [(True, OTHER_TENANT), (False, OTHER_TENANT), (False, None)]
)
async def test_lock_work_order_names_the_tenant_of_the_projection_rows(
    store: FakeStore, uow: FakeUnitOfWork, known: bool, envelope_tenant: str | None
) -> None:
    wo_id = store.work_orders.add().id if known else uuid.uuid4()

    wo, tenant = await lock_work_order(uow, wo_id, envelope_tenant)

    # the work order's own tenant wins over the envelope's; an unknown one takes the envelope's
    assert (wo is not None, tenant) == (known, str(TENANT) if known else envelope_tenant)


async def test_emit_publishes_at_the_next_version(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add(version=5)

    bumped, envelope = await emit(
        uow, wo, WorkOrderReopened(work_order_id=str(wo.id), note="n", render_generation=2)
    )

    assert bumped.version == store.work_orders.rows[wo.id].version == envelope.aggregate_version == 6
    assert (envelope.type, envelope.aggregate_id, envelope.tenant_id) == ("reopened", str(wo.id), str(TENANT))
    assert uow.outbox == [("workorders.work-order.v1", str(wo.id), envelope)]


async def test_refresh_readiness_stores_it_and_emits_only_a_change(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add(report_type="STAGE_PROGRESS")
    store.work_orders.add_snapshot(wo, STAGE_CONTRACT, version=3)
    await store.projections.upsert_evidence(
        wo.id, str(TENANT), EvidenceProjection(evidence_version=9, items=photos(4))
    )

    wo, readiness = await refresh_readiness(uow, wo)
    again, same = await refresh_readiness(uow, wo)

    assert (readiness["completeness_score"], readiness["missing_evidence"], same) == (100, [], readiness)
    stored = store.work_orders.rows[wo.id]
    assert (stored.current_readiness, stored.readiness_evidence_version, again.version) == (readiness, 9, 2)
    [changed] = uow.events_of("readiness_changed")
    assert (changed["evidence_version"], changed["snapshot_version"]) == (9, 3)
    assert changed["readiness"]["completeness_score"] == 100


async def test_snapshot_export_bundles_the_current_evidence(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add()
    snapshot = store.work_orders.add_snapshot(wo, STAGE_CONTRACT)
    await store.projections.upsert_evidence(wo.id, str(TENANT), EvidenceProjection(items=photos(2)))

    export = await snapshot_export(uow, wo.id, snapshot)

    assert (export.snapshot, export.bundle["work_order_id"], export.bundle["snapshot_version"]) == (
        snapshot,
        str(wo.id),
        1,
    )
    assert [item["id"] for item in export.bundle["evidence_manifest"]] == ["photo-0", "photo-1"]
    assert len(export.bundle_hash) == 64


async def test_a_snapshot_that_no_longer_validates_is_409(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add()
    snapshot = store.work_orders.add_snapshot(wo, {"meta": {"report_type": "UNKNOWN_TYPE"}})

    with pytest.raises(SnapshotContractInvalid) as raised:
        await snapshot_export(uow, wo.id, snapshot)
    assert raised.value.status == 409
