"""``handlers.state``: the rules every work-order use case shares and the one ``evidence_state`` event."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.testing.data import TEST_TENANT
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import WorkOrderLocked, WorkOrderNotFound
from evidence_service.domain.notes import profile_selected_note
from evidence_service.handlers.state import (
    WorkOrderCommand,
    base_contract,
    choose_default,
    ensure_unlocked,
    format_rule_warnings,
    locked_work_order,
    publish_state,
)
from evidence_service.repositories import Repositories
from services.evidence.tests.unit.fakes import OTHER, TENANT, Fakes
from shared.contracts.evidence import EvidenceState


@pytest.mark.parametrize("status", ["READY_FOR_RENDER", "CLOSED", "CANCELLED"])
def test_evidence_is_frozen_from_ready_for_render_on(fakes: Fakes, status: str) -> None:
    wo = fakes.work_order(TENANT, status=status)

    with pytest.raises(WorkOrderLocked) as raised:
        ensure_unlocked(wo)

    assert (raised.value.status, raised.value.details) == (
        409,
        {"work_order_id": str(wo.work_order_id), "status": status},
    )


@pytest.mark.parametrize("status", ["DRAFT", "DATA_PENDING", "IN_REVIEW"])
def test_evidence_is_open_before_ready_for_render(fakes: Fakes, status: str) -> None:
    ensure_unlocked(fakes.work_order(TENANT, status=status))


def test_readiness_reads_the_latest_snapshot_else_the_base_contract(fakes: Fakes) -> None:
    snapshot = {"meta": {"report_type": "VALUATION"}, "party": {"bank_name": "Canara"}}

    assert base_contract(fakes.work_order(TENANT, latest_contract=snapshot)) == snapshot
    base = base_contract(fakes.work_order(TENANT, bank_type="PSU_GENERIC", bank_name="Canara"))
    assert (base["meta"], base["party"]) == (
        {"report_type": "VALUATION", "bank_type": "PSU_GENERIC"},
        {"bank_name": "Canara"},
    )


def test_rule_warnings_become_code_and_message_lines() -> None:
    warnings: list[Any] = [{"code": "AREA_MISSING", "message": "no land area"}, "PLAIN: kept", 7]

    assert format_rule_warnings(warnings) == ["AREA_MISSING: no land area", "PLAIN: kept"]


async def test_the_work_order_is_locked_for_the_use_case(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)

    _, found = await locked_work_order(uow, WorkOrderCommand(TEST_TENANT, wo.work_order_id))

    assert (found, fakes.work_orders.locked) == (wo, {wo.work_order_id})


async def test_another_tenants_work_order_is_not_found(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(OTHER)

    with pytest.raises(WorkOrderNotFound):
        await locked_work_order(uow, WorkOrderCommand(TEST_TENANT, wo.work_order_id))


async def test_publishing_bumps_the_version_and_emits_the_whole_state(
    fakes: Fakes, uow: FakeUnitOfWork
) -> None:
    wo = fakes.work_order(TENANT, evidence_version=2)
    item = fakes.item(wo, "DOCUMENT", doc_type="SALE_DEED")
    repos = Repositories.of(uow)

    def note(version: int) -> Any:
        return profile_selected_note(str(wo.work_order_id), "p-1", f"evidence_version:{version}")

    evidence = await publish_state(uow, repos, wo, notes=[note, lambda _version: None], actor="u-1")

    assert (evidence.evidence_version, fakes.work_orders.rows[wo.work_order_id].evidence_version) == (3, 3)
    (envelope,) = uow.published
    assert (envelope.aggregate_id, envelope.aggregate_version, envelope.tenant_id) == (
        str(wo.work_order_id),
        3,
        TEST_TENANT,
    )
    state = EvidenceState.model_validate(envelope.payload)
    assert (state.evidence_version, [i["id"] for i in state.items], state.profile) == (
        3,
        [str(item.id)],
        None,
    )
    assert [(n.note_id, n.created_by_user_id) for n in state.notes] == [(note(3).id, "u-1")]
    assert envelope.payload["readiness"] == evidence.readiness.model_dump()
    assert uow.commits == 0  # only the caller's unit of work commits


@pytest.mark.parametrize(
    ("bank_type", "value_slab", "chosen"),
    [
        ("SBI", "LT_5CR", "Valuation SBI <5Cr Baseline"),
        ("COOP", "UNKNOWN", "Valuation Co-op Baseline"),
        ("PSU_GENERIC", "GT_5CR", "Valuation PSU >5Cr Baseline"),
    ],
)
async def test_the_default_profile_follows_bank_and_slab(
    fakes: Fakes, uow: FakeUnitOfWork, bank_type: str, value_slab: str, chosen: str
) -> None:
    wo = fakes.work_order(TENANT, bank_type=bank_type, value_slab=value_slab)

    profile_id = await choose_default(Repositories.of(uow), wo)

    assert profile_id is not None
    assert fakes.profiles.profiles[profile_id].name == chosen
    assert TENANT in fakes.profiles.seeded


async def test_no_default_profile_for_a_report_type_without_profiles(
    fakes: Fakes, uow: FakeUnitOfWork
) -> None:
    assert await choose_default(Repositories.of(uow), fakes.work_order(TENANT, report_type="AUDIT")) is None
    assert uuid.UUID(TEST_TENANT) in fakes.profiles.seeded
