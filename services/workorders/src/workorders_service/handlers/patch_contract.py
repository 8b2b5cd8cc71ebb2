"""Patch a work order's contract (domain.md §1.5, decisions 1, 2, 5, 29)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from shared.contracts.workorders import ContractSnapshotted
from shared.db.uow import UnitOfWork
from shared.timestamps import utc_now_iso
from shared.validation import uuid_or_none
from workorders_service.domain.contract import apply_patch, base_contract, parse_contract, parse_patch_request
from workorders_service.domain.errors import ContractValidationError, InvalidContractPatch, WorkOrderLocked
from workorders_service.domain.model import JsonObject, NewRulesRun, NewSnapshot, RulesRun, Snapshot
from workorders_service.domain.readmodel import compute_readiness
from workorders_service.domain.rules import compute_contract, warning_strings
from workorders_service.handlers.common import emit, existing_work_order, refresh_readiness
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository

# Decision 29: from READY_FOR_RENDER on the contract is frozen (terminal statuses have nothing left to edit).
LOCKED_STATUSES = frozenset({"READY_FOR_RENDER", "CLOSED", "CANCELLED"})

_EMPTY_READINESS: JsonObject = {
    "completeness_score": 0,
    "missing_fields": [],
    "missing_evidence": [],
    "warnings": [],
    "required_evidence_minimums": {},
}


@dataclass(frozen=True)
class PatchContract:
    """The request body ``{patch, ruleset_version?}`` as sent (validated here, against the contract)."""

    work_order_id: uuid.UUID
    user_id: str | None
    body: object


@dataclass(frozen=True)
class ContractPatched:
    """The two snapshots of the patch, the current readiness, the rules run and the new version."""

    work_order_id: uuid.UUID
    input_snapshot: Snapshot
    output_snapshot: Snapshot
    readiness: JsonObject
    rules_run: RulesRun
    version: int


def _audit(version: int, user_id: str | None) -> JsonObject:
    audit: JsonObject = {"snapshot_version": version}
    actor = uuid_or_none(user_id)
    if actor is not None:
        audit["created_by"] = str(actor)
    audit["created_at"] = utc_now_iso()
    return audit


async def patch_contract(uow: UnitOfWork, command: PatchContract) -> ContractPatched:
    """Merge the patch, snapshot input and output, run the rules, refresh readiness (§1.5 step 14)."""
    try:
        request = parse_patch_request(command.body)
    except ContractValidationError as exc:
        raise InvalidContractPatch.of(exc) from None
    repo = uow.repo(WorkOrderRepository)
    wo = await existing_work_order(repo, command.work_order_id, for_update=True)
    if wo.status in LOCKED_STATUSES:
        raise WorkOrderLocked(wo.status)
    identity = {"report_type": wo.report_type, "bank_type": wo.bank_type, "bank_name": wo.bank_name}
    latest = await repo.latest_snapshot(wo.id)
    base = base_contract(latest.contract_json if latest else None, **identity)
    try:
        merged = apply_patch(base, request["patch"], **identity)
    except ContractValidationError as exc:
        raise InvalidContractPatch.of(exc) from None

    input_version = (latest.version if latest else 0) + 1
    output_version = input_version + 1
    input_contract = copy.deepcopy(merged)
    input_contract["audit"] = _audit(input_version, command.user_id)

    engine = compute_contract(merged, request["ruleset_version"])
    output_contract = copy.deepcopy(engine["contract"])
    meta = output_contract.setdefault("meta", {})
    meta["report_type"] = wo.report_type
    meta["bank_type"] = meta.get("bank_type") or wo.bank_type
    party = output_contract.setdefault("party", {})
    party["bank_name"] = party.get("bank_name") or wo.bank_name
    output_contract["audit"] = _audit(output_version, command.user_id)
    output_contract = parse_contract(output_contract)

    evidence = await uow.repo(ProjectionRepository).evidence(wo.id)
    # Decision 6: field links belong to the work order, so the new snapshot's readiness counts them.
    readiness = compute_readiness(
        **identity,
        latest_contract=output_contract,
        rule_warnings=warning_strings(engine["warnings"]),
        evidence=evidence,
    )
    actor = uuid_or_none(command.user_id)
    input_snapshot = await repo.insert_snapshot(
        wo, NewSnapshot(input_version, input_contract, {}, _EMPTY_READINESS, actor)
    )
    output_snapshot = await repo.insert_snapshot(
        wo, NewSnapshot(output_version, output_contract, engine["derived"], readiness, actor)
    )
    run = NewRulesRun(
        input_snapshot.id,
        output_snapshot.id,
        request["ruleset_version"],
        engine["warnings"],
        engine["errors"],
    )
    await repo.insert_rules_run(wo, run)
    out_meta = output_contract["meta"]
    await repo.update(
        wo.id,
        bank_type=out_meta.get("bank_type") or wo.bank_type,
        value_slab=out_meta.get("value_slab") or "UNKNOWN",
        template_selector=out_meta.get("template_selector") or "UNKNOWN",
    )
    wo = await existing_work_order(repo, wo.id)
    wo, _ = await emit(
        uow,
        wo,
        ContractSnapshotted(
            work_order_id=str(wo.id),
            snapshot_id=str(output_snapshot.id),
            snapshot_version=output_version,
            contract=output_contract,
            derived=engine["derived"],
            rule_warnings=engine["warnings"],
            value_slab=wo.value_slab,
            template_selector=wo.template_selector,
            report_type=wo.report_type,
            bank_type=wo.bank_type,
        ),
    )
    wo, current = await refresh_readiness(uow, wo)
    runs = await repo.rules_runs(wo.id, limit=1)
    return ContractPatched(wo.id, input_snapshot, output_snapshot, current, runs[0], wo.version)
