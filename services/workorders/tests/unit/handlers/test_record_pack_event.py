"""record_pack_event: factory's pack state of a work order (a failure is a state, decision 7)."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import TENANT, FakeStore
from shared.contracts.factory import ArtifactRef, PackCreated, PackFailed, PackGenerated, ReleaseRecorded
from workorders_service.handlers.record_pack_event import PackEvent, RecordPackEvent, record_pack_event

PACK_ID = uuid.UUID("55555555-5555-4555-8555-555555555555")
JOB_ID = "66666666-6666-4666-8666-666666666666"
ARTIFACT = {
    "id": "a-1",
    "kind": "docx",
    "filename": "report.docx",
    "mime_type": "application/msword",
    "size_bytes": 10,
    "checksum_sha256": "0" * 64,
    "storage_ref": "s3://x",
}


def _created(wo_id: uuid.UUID) -> PackCreated:
    return PackCreated.model_validate(
        {
            "work_order_id": str(wo_id),
            "pack_id": str(PACK_ID),
            "pack_version": 2,
            "template_key": "sbi",
            "report_family": "valuation",
            "status": "generating",
            "job_id": JOB_ID,
            "job_status": "queued",
            "export_bundle_hash": "h",
            "snapshot_version": 4,
        }
    )


async def _record(uow: FakeUnitOfWork, wo_id: uuid.UUID, event: PackEvent, version: int) -> None:
    await record_pack_event(uow, RecordPackEvent(wo_id, event, str(TENANT), version))


async def test_created_projects_the_pack_and_links_it_to_the_work_order(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add()

    await _record(uow, wo.id, _created(wo.id), 3)

    pack = store.projections.pack_rows[wo.id]
    assert (pack.pack_id, pack.status, pack.job_status, pack.snapshot_version) == (
        PACK_ID,
        "generating",
        "queued",
        4,
    )
    assert (pack.created_source_version, pack.failed_source_version, pack.source_version) == (3, None, 3)
    assert store.work_orders.rows[wo.id].report_pack_id == PACK_ID
    assert uow.published == []


@pytest.mark.parametrize(
    ("event", "status", "job_status", "failure_code"),
    [
        pytest.param(
            PackGenerated(
                work_order_id="w",
                pack_id=str(PACK_ID),
                pack_version=2,
                job_id=JOB_ID,
                attempts=2,
                artifacts=[ArtifactRef.model_validate(ARTIFACT)],
            ),
            "generated",
            "completed",
            None,
            id="generated",
        ),
        pytest.param(
            PackFailed(work_order_id="w", code="TEMPLATE_ERROR", reason="boom", attempts=2),
            "failed",
            "failed",
            "TEMPLATE_ERROR",
            id="failed",
        ),
    ],
)
async def test_a_later_event_moves_the_pack_on(
    store: FakeStore,
    uow: FakeUnitOfWork,
    event: PackEvent,
    status: str,
    job_status: str,
    failure_code: str | None,
) -> None:
    wo = store.work_orders.add()
    await _record(uow, wo.id, _created(wo.id), 3)

    await _record(uow, wo.id, event, 4)

    pack = store.projections.pack_rows[wo.id]
    assert (pack.status, pack.job_status, pack.attempts, pack.failure_code) == (
        status,
        job_status,
        2,
        failure_code,
    )
    assert (pack.pack_id, pack.created_source_version, pack.source_version) == (PACK_ID, 3, 4)


async def test_a_failure_before_any_pack_is_a_state(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add()

    await _record(uow, wo.id, PackFailed(work_order_id=str(wo.id), code="NO_TEMPLATE", reason="none"), 2)

    pack = store.projections.pack_rows[wo.id]
    assert (pack.pack_id, pack.status, pack.failed_source_version, pack.failure_reason) == (
        None,
        "failed",
        2,
        "none",
    )
    assert store.work_orders.rows[wo.id].report_pack_id is None


async def test_a_release_replaces_the_one_of_its_id(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add()
    for version, release in enumerate(
        [
            {"id": "r-1", "result": "PENDING"},
            {"id": "r-2", "result": "PAID"},
            {"id": "r-1", "result": "PAID"},
        ],
        start=1,
    ):
        await _record(uow, wo.id, ReleaseRecorded(work_order_id=str(wo.id), release=release), version)

    assert store.projections.pack_rows[wo.id].releases == [
        {"id": "r-2", "result": "PAID"},
        {"id": "r-1", "result": "PAID"},
    ]


async def test_an_older_event_changes_nothing(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add()
    await _record(uow, wo.id, _created(wo.id), 5)

    await _record(uow, wo.id, PackFailed(work_order_id=str(wo.id), code="LATE", reason="stale"), 4)

    assert (store.projections.pack_rows[wo.id].status, store.projections.pack_rows[wo.id].source_version) == (
        "generating",
        5,
    )


async def test_an_unknown_work_order_without_tenant_is_dropped(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo_id = uuid.uuid4()
    await record_pack_event(uow, RecordPackEvent(wo_id, _created(wo_id), None, 1))
    assert store.projections.pack_rows == {}
