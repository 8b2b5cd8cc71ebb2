"""patch_contract: input and output snapshots, the rules run, the selectors, readiness and the events."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, USER, FakeStore
from shared.errors import DomainError
from workorders_service.domain.errors import InvalidContractPatch, WorkOrderLocked, WorkOrderNotFound
from workorders_service.handlers.patch_contract import PatchContract, patch_contract

LAND_AND_RATE = {
    "property": {"address": "Plot 7", "land_area": {"value": 1000, "unit": "sqft"}},
    "valuation_inputs": {"guideline_rate_input": {"value": 1500, "unit": "sqft"}, "land_value": 2000000},
}


async def test_snapshots_the_patch_and_the_rules_output(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add()

    patched = await patch_contract(uow, PatchContract(wo.id, str(USER), {"patch": LAND_AND_RATE}))

    given, computed = patched.input_snapshot, patched.output_snapshot
    assert (given.version, computed.version, patched.rules_run.output_snapshot_id) == (1, 2, computed.id)
    assert given.contract_json["property"]["address"] == "Plot 7"
    assert given.derived_json == {}
    assert given.contract_json["audit"]["created_by"] == str(USER)
    assert computed.contract_json["computed_values"]["FMV"] == 2000000
    assert computed.contract_json["meta"]["report_type"] == "VALUATION"
    assert (await store.work_orders.latest_snapshot(wo.id), patched.rules_run.ruleset_version) == (
        computed,
        "m5.4-v1",
    )
    stored = store.work_orders.rows[wo.id]
    assert (stored.template_selector, stored.current_readiness, stored.version) == (
        "SBI_FORMAT_A",
        patched.readiness,
        patched.version,
    )
    assert [e.type for e in uow.published] == ["contract_snapshotted", "readiness_changed"]
    [snapshotted] = uow.events_of("contract_snapshotted")
    assert (
        snapshotted["snapshot_id"],
        snapshotted["snapshot_version"],
        snapshotted["template_selector"],
    ) == (
        str(computed.id),
        2,
        "SBI_FORMAT_A",
    )


async def test_a_second_patch_merges_onto_the_latest_snapshot(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = store.work_orders.add(report_type="STAGE_PROGRESS")
    store.work_orders.add_snapshot(wo, STAGE_CONTRACT, version=2)

    body = {"patch": {"manual_fields": {"stage_notes": "roof done"}}, "ruleset_version": "m5.4-v1"}
    patched = await patch_contract(uow, PatchContract(wo.id, None, body))

    contract = patched.output_snapshot.contract_json
    assert (patched.input_snapshot.version, patched.output_snapshot.version) == (3, 4)
    assert (contract["manual_fields"]["stage_notes"], contract["property"]["address"]) == (
        "roof done",
        "Plot 7, Ring Road",
    )
    assert "created_by" not in contract["audit"]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        pytest.param("READY_FOR_RENDER", {"patch": {}}, WorkOrderLocked, id="ready-for-render"),
        pytest.param("CLOSED", {"patch": {}}, WorkOrderLocked, id="closed"),
        pytest.param("CANCELLED", {"patch": {}}, WorkOrderLocked, id="cancelled"),
        pytest.param("DRAFT", {"nopatch": {}}, InvalidContractPatch, id="no-patch"),
        pytest.param(
            "DRAFT", {"patch": {"property": {"land_area": {"value": -1}}}}, InvalidContractPatch, id="invalid"
        ),
    ],
)
async def test_a_refused_patch_writes_nothing(
    store: FakeStore, uow: FakeUnitOfWork, status: str, body: object, error: type[DomainError]
) -> None:
    wo = store.work_orders.add(status=status)

    with pytest.raises(error):
        await patch_contract(uow, PatchContract(wo.id, str(USER), body))

    assert await store.work_orders.latest_snapshot(wo.id) is None
    assert uow.published == []
    assert store.work_orders.rows[wo.id] == wo


async def test_an_unknown_work_order_is_404(uow: FakeUnitOfWork) -> None:
    with pytest.raises(WorkOrderNotFound):
        await patch_contract(uow, PatchContract(uuid.uuid4(), None, {"patch": {}}))
