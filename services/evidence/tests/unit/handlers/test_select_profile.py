"""``select_profile``: an operator's choice by id, or the default again; a repeat changes nothing."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.data import TEST_TENANT, TEST_USER
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import (
    EvidenceProfileNotResolved,
    InvalidEvidenceProfileForWorkOrder,
    WorkOrderLocked,
)
from evidence_service.domain.notes import NoteKind, note_id
from evidence_service.handlers.select_profile import SelectProfile, select_profile
from evidence_service.records import Profile, WorkOrder
from services.evidence.tests.unit.fakes import OTHER, TENANT, Fakes
from shared.contracts.evidence import EvidenceState


def _select(wo: WorkOrder, profile_id: uuid.UUID | None) -> SelectProfile:
    return SelectProfile(TEST_TENANT, wo.work_order_id, profile_id, TEST_USER)


async def _profile(fakes: Fakes, tenant: uuid.UUID, name: str) -> Profile:
    await fakes.profiles.ensure_defaults(tenant)
    return next(p for p in fakes.profiles.profiles.values() if p.tenant_id == tenant and p.name == name)


async def test_an_operator_choice_is_kept_and_noted_once(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)
    psu = await _profile(fakes, TENANT, "Valuation PSU >5Cr Baseline")

    overview = await select_profile(uow, _select(wo, psu.id))
    await select_profile(uow, _select(wo, psu.id))

    selected = fakes.work_orders.rows[wo.work_order_id]
    assert (selected.evidence_profile_id, selected.profile_chosen_by, overview.evidence.profile) == (
        psu.id,
        "operator",
        psu,
    )
    (state,) = uow.events_of(EvidenceState.TYPE)
    expected_note = note_id(str(wo.work_order_id), NoteKind.PROFILE_SELECTED, "evidence_version:1")
    assert [(n["note_id"], n["created_by_user_id"]) for n in state["notes"]] == [(expected_note, TEST_USER)]
    assert str(psu.id) in state["notes"][0]["body"]


async def test_the_default_again_replaces_an_operator_choice(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    psu = await _profile(fakes, TENANT, "Valuation PSU >5Cr Baseline")
    wo = fakes.work_order(TENANT, evidence_profile_id=psu.id, profile_chosen_by="operator")

    overview = await select_profile(uow, _select(wo, None))

    assert overview.evidence.profile is not None
    assert (overview.evidence.profile.name, overview.evidence.wo.profile_chosen_by) == (
        "Valuation SBI <5Cr Baseline",
        "auto",
    )
    assert len(uow.events_of(EvidenceState.TYPE)) == 1


@pytest.mark.parametrize(
    ("tenant", "name"),
    [(TENANT, "DPR Baseline"), (OTHER, "Valuation SBI <5Cr Baseline")],
    ids=["other-report-type", "other-tenant"],
)
async def test_a_profile_of_another_report_type_or_tenant_is_invalid(
    fakes: Fakes, uow: FakeUnitOfWork, tenant: uuid.UUID, name: str
) -> None:
    wo = fakes.work_order(TENANT)
    profile = await _profile(fakes, tenant, name)

    with pytest.raises(InvalidEvidenceProfileForWorkOrder) as raised:
        await select_profile(uow, _select(wo, profile.id))

    assert raised.value.details == {"profile_id": str(profile.id), "report_type": "VALUATION"}
    assert (fakes.work_orders.rows[wo.work_order_id], uow.published) == (wo, [])


@pytest.mark.parametrize(
    ("wo_values", "error"),
    [({"report_type": "AUDIT"}, EvidenceProfileNotResolved), ({"status": "CLOSED"}, WorkOrderLocked)],
    ids=["no-default", "locked"],
)
async def test_no_selection_without_a_default_or_on_a_locked_work_order(
    fakes: Fakes, uow: FakeUnitOfWork, wo_values: dict[str, str], error: type[Exception]
) -> None:
    wo = fakes.work_order(TENANT, **wo_values)

    with pytest.raises(error):
        await select_profile(uow, _select(wo, None))

    assert uow.published == []
