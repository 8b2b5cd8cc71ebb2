"""record_evidence_state: the evidence projection, system notes once each, the current readiness."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, TENANT, USER, FakeStore, photos
from shared.contracts.evidence import EvidenceState
from workorders_service.handlers.record_evidence_state import (
    RecordEvidenceState,
    parse_instant,
    record_evidence_state,
)

OTHER_TENANT = "33333333-3333-4333-8333-333333333333"
PROFILE_ID = uuid.UUID("44444444-4444-4444-8444-444444444444")


def _state(work_order_id: uuid.UUID, evidence_version: int, **fields: Any) -> EvidenceState:
    return EvidenceState.model_validate(
        {
            "work_order_id": str(work_order_id),
            "evidence_version": evidence_version,
            "items": photos(4),
            **fields,
        }
    )


def _command(
    state: EvidenceState, source_version: int, tenant_id: str | None = OTHER_TENANT
) -> RecordEvidenceState:
    return RecordEvidenceState(uuid.UUID(state.work_order_id), state, tenant_id, source_version)


PROFILE = {
    "id": str(PROFILE_ID),
    "name": "Stage photos",
    "report_type": "STAGE_PROGRESS",
    "bank_type": "COOP",
    "value_slab": "UNKNOWN",
    "chosen_by": "auto",
    "items": [{"evidence_type": "PHOTO", "min_count": 2}],
}
NOTE = {
    "note_id": "n-1",
    "body": "OCR finished",
    "created_by_user_id": str(USER),
    "created_at": "2026-02-24T10:00:00",
}


async def test_projects_the_state_adds_its_notes_and_refreshes_readiness(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add(report_type="STAGE_PROGRESS")
    store.work_orders.add_snapshot(wo, STAGE_CONTRACT)
    state = _state(wo.id, 3, profile=PROFILE, notes=[NOTE], linked_field_keys=["party.bank_name"])

    await record_evidence_state(uow, _command(state, 11))

    projection = store.projections.evidence_rows[wo.id]
    assert (projection.evidence_version, projection.source_version, projection.items) == (3, 11, photos(4))
    assert projection.profile_requirements == PROFILE["items"]
    assert projection.linked_field_keys == ["party.bank_name"]
    [note] = await store.work_orders.comments(wo.id)
    assert (note.comment_type, note.body, note.note_id, note.created_by_user_id) == (
        "NOTES",
        "OCR finished",
        "n-1",
        USER,
    )
    assert note.created_at == datetime(2026, 2, 24, 10, tzinfo=UTC)
    stored = store.work_orders.rows[wo.id]
    assert (stored.evidence_profile_id, stored.readiness_evidence_version) == (PROFILE_ID, 3)
    [changed] = uow.events_of("readiness_changed")
    assert changed["evidence_version"] == 3
    assert changed["readiness"]["missing_evidence"] == []


async def test_a_redelivered_note_is_added_once_and_an_older_state_is_ignored(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add()
    await record_evidence_state(uow, _command(_state(wo.id, 3, notes=[NOTE]), 11))

    await record_evidence_state(uow, _command(_state(wo.id, 2, notes=[NOTE], items=[]), 10))

    assert store.projections.evidence_rows[wo.id].evidence_version == 3
    assert [c.note_id for c in await store.work_orders.comments(wo.id)] == ["n-1"]


@pytest.mark.parametrize(("tenant_id", "projected"), [(OTHER_TENANT, True), (None, False)])
async def test_an_unknown_work_order_keeps_only_the_projection(
    store: FakeStore, uow: FakeUnitOfWork, tenant_id: str | None, projected: bool
) -> None:
    wo_id = uuid.uuid4()

    await record_evidence_state(uow, _command(_state(wo_id, 1, notes=[NOTE]), 5, tenant_id))

    assert (wo_id in store.projections.evidence_rows, uow.published) == (projected, [])
    assert store.projections.tenants.get(("evidence", wo_id)) == tenant_id
    assert await store.work_orders.comments(wo_id) == []


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2026-02-24T10:00:00+05:30", datetime(2026, 2, 24, 4, 30, tzinfo=UTC)),
        ("2026-02-24T10:00:00", datetime(2026, 2, 24, 10, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_instant(value: str | None, instant: datetime | None) -> None:
    assert parse_instant(value) == instant


async def test_the_projection_belongs_to_the_work_orders_tenant(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add()
    await record_evidence_state(uow, _command(_state(wo.id, 1), 1, tenant_id=OTHER_TENANT))
    assert store.projections.tenants[("evidence", wo.id)] == str(TENANT)
