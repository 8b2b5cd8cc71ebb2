"""export_work_order: the bundle of the latest (or a named) snapshot; 404 without it."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, FakeStore
from workorders_service.domain.errors import SnapshotNotFound, WorkOrderNotFound
from workorders_service.handlers.export_work_order import ExportWorkOrder, export_work_order


@pytest.mark.parametrize(("asked", "exported"), [(None, 3), (2, 2)], ids=["latest", "named-version"])
async def test_exports_the_snapshot(
    store: FakeStore, uow: FakeUnitOfWork, asked: int | None, exported: int
) -> None:
    wo = store.work_orders.add()
    snapshots = {v: store.work_orders.add_snapshot(wo, STAGE_CONTRACT, version=v) for v in (1, 2, 3)}

    result = await export_work_order(uow, ExportWorkOrder(wo.id, asked))

    assert (result.export.snapshot, result.export.bundle["snapshot_version"]) == (
        snapshots[exported],
        exported,
    )
    assert (result.projected.work_order, result.projected.billing_payload) == (wo, None)
    assert uow.published == []


@pytest.mark.parametrize("snapshot_version", [None, 7], ids=["no-snapshot-yet", "no-such-version"])
async def test_a_missing_snapshot_is_404(
    store: FakeStore, uow: FakeUnitOfWork, snapshot_version: int | None
) -> None:
    wo = store.work_orders.add()
    if snapshot_version is not None:
        store.work_orders.add_snapshot(wo, STAGE_CONTRACT)
    with pytest.raises(SnapshotNotFound) as raised:
        await export_work_order(uow, ExportWorkOrder(wo.id, snapshot_version))
    assert (raised.value.status, raised.value.code) == (404, "SNAPSHOT_NOT_FOUND")


async def test_an_unknown_work_order_is_404(uow: FakeUnitOfWork) -> None:
    with pytest.raises(WorkOrderNotFound):
        await export_work_order(uow, ExportWorkOrder(uuid.uuid4()))
