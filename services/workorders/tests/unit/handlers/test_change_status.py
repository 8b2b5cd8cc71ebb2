"""change_status: the checks of domain.md §1.3, the system note, the saga events and the result."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, TENANT, USER, FakeStore, photos
from shared.errors import DomainError
from workorders_service.domain.errors import (
    AcceptanceNotSettled,
    AcceptanceRejected,
    InvalidStatusTransition,
    ReadinessBlocksReadyForRender,
    ReopenAfterReleaseForbidden,
    ReopenNoteRequired,
    SnapshotRequiredForReadyForRender,
    WorkOrderNotFound,
)
from workorders_service.domain.model import EvidenceProjection, WorkOrder
from workorders_service.handlers.change_status import ChangeStatus, change_status


async def _renderable(
    store: FakeStore, *, photo_count: int = 4, snapshot: bool = True, released: bool = False, **changes: Any
) -> WorkOrder:
    """A DATA_PENDING STAGE_PROGRESS work order accepted by billing, with a complete contract snapshot and
    ``photo_count`` photos, factory's pack projection at version 6 (``changes`` to any column; without
    ``snapshot``; with a ``released`` deliverables gate)."""
    columns = {"status": "DATA_PENDING", "report_type": "STAGE_PROGRESS", "acceptance_status": "ACCEPTED"}
    wo = store.work_orders.add(**{**columns, **changes})
    if snapshot:
        store.work_orders.add_snapshot(wo, STAGE_CONTRACT)
    evidence = EvidenceProjection(evidence_version=2, items=photos(photo_count), source_version=2)
    await store.projections.upsert_evidence(wo.id, str(TENANT), evidence)
    await store.projections.upsert_pack(work_order_id=wo.id, tenant_id=str(TENANT), source_version=6)
    gate = {"last_gate": {"result": "PAID"}} if released else {}
    await store.projections.upsert_billing(
        work_order_id=wo.id, tenant_id=str(TENANT), payload=gate, source_version=1
    )
    return wo


def _request(wo: WorkOrder, target: str, note: str | None = None) -> ChangeStatus:
    return ChangeStatus(wo.id, str(USER), target, note)


async def test_the_current_status_is_a_noop(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add(status="EVIDENCE_PENDING", version=3)

    result = await change_status(uow, _request(wo, "EVIDENCE_PENDING"))

    assert (result.noop, result.from_status, result.to_status, result.version) == (
        True,
        *["EVIDENCE_PENDING"] * 2,
        3,
    )
    assert uow.published == []
    assert await store.work_orders.comments(wo.id) == []


async def test_a_transition_stores_the_status_a_note_and_emits_status_changed(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add()

    result = await change_status(uow, _request(wo, "EVIDENCE_PENDING", "collecting photos"))

    assert (result.noop, result.version, result.acceptance_request_id) == (False, 2, None)
    assert store.work_orders.rows[wo.id].status == "EVIDENCE_PENDING"
    [note] = await store.work_orders.comments(wo.id)
    assert (note.comment_type, note.body, note.created_by_user_id) == (
        "NOTES",
        "Status changed: DRAFT -> EVIDENCE_PENDING\ncollecting photos",
        USER,
    )
    [changed] = uow.events_of("status_changed")
    assert (changed["from_status"], changed["to_status"], changed["actor_user_id"]) == (
        "DRAFT",
        "EVIDENCE_PENDING",
        str(USER),
    )
    assert changed["acceptance_request"] is None
    assert [e.type for e in uow.published] == ["status_changed"]


async def test_data_pending_starts_the_acceptance_saga(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add(billing_external_key="acme", acceptance_status="REJECTED", acceptance_code="X")

    result = await change_status(uow, _request(wo, "DATA_PENDING"))

    [envelope] = uow.published
    assert result.acceptance_request_id == envelope.message_id
    stored = store.work_orders.rows[wo.id]
    assert (stored.acceptance_status, stored.acceptance_code, stored.acceptance_previous_status) == (
        "PENDING",
        None,
        "DRAFT",
    )
    assert stored.acceptance_request_id == uuid.UUID(envelope.message_id)
    request = envelope.payload["acceptance_request"]
    assert (request["tenant_id"], request["work_order_id"], request["billing_external_key"]) == (
        str(TENANT),
        str(wo.id),
        "acme",
    )


async def test_ready_for_render_freezes_the_bundle_and_starts_the_render(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = await _renderable(store, render_generation=2)

    result = await change_status(uow, _request(wo, "READY_FOR_RENDER"))

    stored = store.work_orders.rows[wo.id]
    assert (stored.status, stored.ready_snapshot_version, stored.pack_baseline_version) == (
        "READY_FOR_RENDER",
        1,
        6,
    )
    assert stored.export_bundle is not None
    assert [item["id"] for item in stored.export_bundle["evidence_manifest"]] == [
        f"photo-{n}" for n in range(4)
    ]
    assert [e.type for e in uow.published] == ["readiness_changed", "status_changed", "ready_for_render"]
    [render] = uow.events_of("ready_for_render")
    assert (render["export_bundle_hash"], render["snapshot_version"], render["render_generation"]) == (
        stored.export_bundle_hash,
        1,
        2,
    )
    assert render["readiness_score"] == 100
    assert result.version == stored.version == 4


async def test_the_frozen_bundle_records_the_readiness_and_checklist_of_this_moment(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    """Issue 21: the snapshot keeps its own readiness (decision 5); the render bundle adds the current
    one, the checklist and the evidence version, so the report cannot repeat a stale readiness."""
    wo = store.work_orders.add(
        status="DATA_PENDING", report_type="STAGE_PROGRESS", acceptance_status="ACCEPTED"
    )
    stale = {"completeness_score": 80, "missing_fields": [], "missing_evidence": ["photos: need 4, found 0"]}
    snapshot = store.work_orders.add_snapshot(wo, STAGE_CONTRACT, readiness_json=stale)
    checklist = [{"id": "req-1", "label": "Site photos", "current_count": 4, "satisfied": True}]
    evidence = EvidenceProjection(evidence_version=7, items=photos(4), checklist=checklist, source_version=2)
    await store.projections.upsert_evidence(wo.id, str(TENANT), evidence)
    await store.projections.upsert_pack(work_order_id=wo.id, tenant_id=str(TENANT), source_version=6)

    await change_status(uow, _request(wo, "READY_FOR_RENDER"))

    bundle = store.work_orders.rows[wo.id].export_bundle
    assert bundle is not None
    assert bundle["readiness_json"] == stale == snapshot.readiness_json
    state = bundle["render_state"]
    assert state["readiness"]["completeness_score"] == 100
    assert state["readiness"]["missing_evidence"] == []
    assert (state["checklist"], state["evidence_version"]) == (checklist, 7)
    [render] = uow.events_of("ready_for_render")
    assert render["export_bundle"]["render_state"] == state


@pytest.mark.parametrize(("target", "event"), [("CANCELLED", "cancelled"), ("CLOSED", "closed")])
async def test_an_end_records_the_previous_status(
    store: FakeStore, uow: FakeUnitOfWork, target: str, event: str
) -> None:
    wo = store.work_orders.add(status="DATA_PENDING")

    await change_status(uow, _request(wo, target, "client withdrew"))

    assert [e.type for e in uow.published] == ["status_changed", event]
    [ended] = uow.events_of(event)
    assert (ended["previous_status"], ended["note"], ended["actor_user_id"]) == (
        "DATA_PENDING",
        "client withdrew",
        str(USER),
    )


async def test_a_reopen_starts_the_next_render_generation_and_keeps_the_acceptance(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add(
        status="READY_FOR_RENDER",
        acceptance_status="ACCEPTED",
        export_bundle={"x": 1},
        pack_baseline_version=6,
    )

    result = await change_status(uow, _request(wo, "DATA_PENDING", "wrong photos"))

    stored = store.work_orders.rows[wo.id]
    assert (stored.render_generation, stored.export_bundle, stored.pack_baseline_version) == (2, None, None)
    assert stored.acceptance_status == "ACCEPTED"
    assert result.acceptance_request_id is None
    [reopened] = uow.events_of("reopened")
    assert (reopened["note"], reopened["render_generation"]) == ("wrong photos", 2)
    assert uow.events_of("status_changed")[0]["reopen"] is True


RFR, DP = "READY_FOR_RENDER", "DATA_PENDING"


@pytest.mark.parametrize(
    ("target", "note", "setup", "error"),
    [
        pytest.param(RFR, None, {"status": "DRAFT"}, InvalidStatusTransition, id="invalid-transition"),
        pytest.param("DRAFT", None, {"status": "CLOSED"}, InvalidStatusTransition, id="from-terminal"),
        pytest.param(DP, " ", {"status": RFR}, ReopenNoteRequired, id="reopen-without-note"),
        pytest.param(
            DP, "again", {"status": RFR, "released": True}, ReopenAfterReleaseForbidden, id="released"
        ),
        pytest.param(RFR, None, {"snapshot": False}, SnapshotRequiredForReadyForRender, id="no-snapshot"),
        pytest.param(RFR, None, {"photo_count": 3}, ReadinessBlocksReadyForRender, id="readiness-blocks"),
        pytest.param(
            RFR, None, {"acceptance_status": "PENDING"}, AcceptanceNotSettled, id="acceptance-pending"
        ),
        pytest.param(
            RFR, None, {"acceptance_status": "REJECTED"}, AcceptanceRejected, id="acceptance-rejected"
        ),
    ],
)
async def test_a_refused_request_changes_no_status(
    store: FakeStore,
    uow: FakeUnitOfWork,
    target: str,
    note: str | None,
    setup: dict[str, Any],
    error: type[DomainError],
) -> None:
    wo = await _renderable(store, **setup)

    with pytest.raises(error):
        await change_status(uow, _request(wo, target, note))

    assert store.work_orders.rows[wo.id].status == wo.status
    assert uow.events_of("status_changed") == []
    assert await store.work_orders.comments(wo.id) == []


async def test_an_unknown_work_order_is_404(uow: FakeUnitOfWork) -> None:
    with pytest.raises(WorkOrderNotFound):
        await change_status(uow, ChangeStatus(uuid.uuid4(), str(USER), "CANCELLED", None))
    assert uow.published == []
