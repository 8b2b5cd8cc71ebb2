"""``project_work_order`` / ``apply_work_order_change`` / ``read_source_version``: the work-order projection."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from devstack.testing.data import OTHER_TENANT, TEST_TENANT
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.notes import NoteKind, note_id
from evidence_service.handlers.project_work_order import (
    ApplyWorkOrderChange,
    ProjectWorkOrder,
    ReadSourceVersion,
    apply_work_order_change,
    project_work_order,
    read_source_version,
)
from evidence_service.records import NewWorkOrder, SnapshotApplied, WorkOrder
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.contracts.evidence import EvidenceState

CREATED = NewWorkOrder(
    uuid.uuid4(), "VALUATION", "PSU_GENERIC", "Canara", "UNKNOWN", "UNKNOWN", "DRAFT", 1, TENANT
)


def _snapshot(version: int, value_slab: str = "GT_5CR") -> SnapshotApplied:
    return SnapshotApplied(
        {"meta": {"report_type": "VALUATION"}}, uuid.uuid4(), version, [], value_slab, "T1", "PSU_GENERIC"
    )


def _change(
    wo: WorkOrder, source_version: int, snapshot: SnapshotApplied | None = None, status: str | None = None
) -> ApplyWorkOrderChange:
    return ApplyWorkOrderChange(TEST_TENANT, wo.work_order_id, source_version, snapshot, status)


def _profile_name(fakes: Fakes, wo: WorkOrder) -> str:
    profile_id = fakes.work_orders.rows[wo.work_order_id].evidence_profile_id
    return fakes.profiles.profiles[profile_id].name if profile_id else "-"


async def test_a_created_work_order_is_projected_once(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    await project_work_order(uow, ProjectWorkOrder(CREATED))
    await project_work_order(uow, ProjectWorkOrder(dataclasses.replace(CREATED, status="CLOSED")))

    wo = fakes.work_orders.rows[CREATED.work_order_id]
    assert (wo.tenant_id, wo.status, wo.profile_chosen_by, wo.evidence_version) == (
        TENANT,
        "DRAFT",
        "auto",
        1,
    )
    assert (
        _profile_name(fakes, wo) == "Valuation PSU >5Cr Baseline"
    )  # the only PSU profile, whatever the slab
    (state,) = uow.events_of(EvidenceState.TYPE)
    assert (state["work_order_id"], state["profile"]["chosen_by"], state["notes"]) == (
        str(wo.work_order_id),
        "auto",
        [],
    )
    assert uow.published[0].tenant_id == TEST_TENANT


async def test_a_newer_snapshot_rechooses_an_automatic_profile(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    await fakes.profiles.ensure_defaults(TENANT)
    sbi = next(p for p in fakes.profiles.profiles.values() if p.bank_type == "SBI")
    wo = fakes.work_order(TENANT, bank_type="OTHER", evidence_profile_id=sbi.id, profile_chosen_by="auto")
    snapshot = _snapshot(2)

    await apply_work_order_change(uow, _change(wo, 5, snapshot=snapshot))

    projected = fakes.work_orders.rows[wo.work_order_id]
    assert (projected.latest_snapshot_id, projected.value_slab, projected.source_version) == (
        snapshot.latest_snapshot_id,
        "GT_5CR",
        5,
    )
    assert _profile_name(fakes, wo) == "Valuation PSU >5Cr Baseline"
    assert (
        await fakes.work_orders.snapshot_version(TENANT, wo.work_order_id, snapshot.latest_snapshot_id) == 2
    )
    (state,) = uow.events_of(EvidenceState.TYPE)
    expected = note_id(str(wo.work_order_id), NoteKind.PROFILE_SELECTED, "evidence_version:1")
    assert [note["note_id"] for note in state["notes"]] == [expected]


@pytest.mark.parametrize(
    ("chosen_by", "snapshot_version"),
    [("operator", 3), ("auto", 1)],
    ids=["operator-choice", "older-snapshot"],
)
async def test_an_operator_choice_or_an_older_snapshot_keeps_the_profile(
    fakes: Fakes, uow: FakeUnitOfWork, chosen_by: str, snapshot_version: int
) -> None:
    await fakes.profiles.ensure_defaults(TENANT)
    sbi = next(p for p in fakes.profiles.profiles.values() if p.bank_type == "SBI")
    wo = fakes.work_order(
        TENANT,
        bank_type="OTHER",
        latest_snapshot_version=2,
        evidence_profile_id=sbi.id,
        profile_chosen_by=chosen_by,
    )
    snapshot = _snapshot(snapshot_version)

    await apply_work_order_change(uow, _change(wo, 3, snapshot=snapshot))

    projected = fakes.work_orders.rows[wo.work_order_id]
    assert (projected.evidence_profile_id, uow.published) == (sbi.id, [])
    newer = snapshot_version > 2
    assert (projected.latest_snapshot_id == snapshot.latest_snapshot_id, projected.value_slab) == (
        newer,
        "GT_5CR" if newer else "LT_5CR",
    )
    assert await fakes.work_orders.snapshot_version(
        TENANT, wo.work_order_id, snapshot.latest_snapshot_id
    ) == (snapshot_version)


async def test_a_status_change_and_the_source_version_only_grows(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT, source_version=7)

    await apply_work_order_change(uow, _change(wo, 4, status="READY_FOR_RENDER"))

    projected = fakes.work_orders.rows[wo.work_order_id]
    assert (projected.status, projected.source_version, uow.published) == ("READY_FOR_RENDER", 7, [])
    assert fakes.work_orders.locked == {wo.work_order_id}


async def test_a_change_of_a_work_order_the_tenant_has_not_projected_is_retried(
    fakes: Fakes, uow: FakeUnitOfWork
) -> None:
    wo = fakes.work_order(uuid.UUID(OTHER_TENANT))

    with pytest.raises(LookupError):
        await apply_work_order_change(uow, _change(wo, 2, status="CLOSED"))


@pytest.mark.parametrize(
    ("tenant", "raw_id", "expected"),
    [
        (TEST_TENANT, "projected", 6),
        (OTHER_TENANT, "projected", None),
        (None, "projected", None),
        (TEST_TENANT, str(uuid.uuid4()), None),
        (TEST_TENANT, "not-a-uuid", None),
    ],
    ids=["projected", "other-tenant", "no-tenant", "unknown", "not-a-uuid"],
)
async def test_the_projected_source_version(
    fakes: Fakes, uow: FakeUnitOfWork, tenant: str | None, raw_id: str, expected: int | None
) -> None:
    wo = fakes.work_order(TENANT, source_version=6)
    wo_id = str(wo.work_order_id) if raw_id == "projected" else raw_id

    assert await read_source_version(uow, ReadSourceVersion(tenant, wo_id)) == expected
