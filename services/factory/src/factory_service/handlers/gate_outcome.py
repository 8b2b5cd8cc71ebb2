"""Record billing's gate outcome on a PENDING release (architecture §4; domain.md §6 steps 9-12)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from factory_service.domain.release import PENDING, billing_metadata, release_audit_action
from factory_service.handlers.common import emit_pack_state
from factory_service.records import AuditScope
from factory_service.repositories import AuditLog, ReleaseRepository, WorkOrderRepository
from shared.contracts.billing import GateDecided
from shared.contracts.factory import ReleaseRecorded
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordGateOutcome:
    """Billing's decision on one release, as billing published it (the ``gate_decided`` event)."""

    decision: GateDecided


async def record_gate_outcome(uow: UnitOfWork, command: RecordGateOutcome) -> None:
    """Record billing's outcome on the PENDING release, audit it, publish ``release_recorded`` and wake
    the requests waiting for it (at commit).

    A second outcome for the same release (redelivery, re-decision) changes nothing.
    """
    decision = command.decision
    releases = uow.repo(ReleaseRepository)
    release_id = uuid_or_none(decision.release_id)
    release = await releases.get(release_id, for_update=True) if release_id else None
    if release_id is None or release is None:
        log.warning("gate outcome for unknown release", extra={"release_id": decision.release_id})
        return
    if release.billing_gate_result != PENDING:
        return
    wo = uuid.UUID(release.work_order_id)
    tenant = uuid.UUID(release.org_id)
    billing = await uow.repo(WorkOrderRepository).billing(wo)
    metadata: dict[str, Any] = billing_metadata(billing.state if billing else None)
    metadata.update(decision.metadata)
    metadata.update(
        {
            "blocked_reason": decision.blocked_reason,
            "credit_consume_ledger_id": decision.ledger_entry_ids[0] if decision.ledger_entry_ids else None,
            "ledger_entry_ids": decision.ledger_entry_ids,
            "usage_event_id": decision.usage_event_id,
            "error_code": decision.error_code,
            "error_message": decision.error_message,
            "override_applied": decision.override_applied,
            "decision_id": decision.decision_id,
        }
    )
    recorded = await releases.decide(release_id, decision, metadata)
    if recorded is None:
        return
    await releases.announce_decided(release_id)
    decided = {
        "repogen_work_order_id": str(wo),
        "billing_gate_result": decision.result,
        "override": release.override_requested,
        "override_reason": release.override_reason,
        "blocked_reason": decision.blocked_reason,
        "error_code": decision.error_code,
        "decision_hash": decision.decision_hash,
    }
    await uow.repo(AuditLog).record(
        AuditScope(tenant, wo, uuid.UUID(release.report_pack_id)),
        release_audit_action(decision.result),
        ("repogen_deliverable_release", release.id),
        decided,
        uuid_or_none(release.released_by_user_id),
    )
    await emit_pack_state(
        uow,
        ReleaseRecorded(work_order_id=str(wo), release=recorded.model_dump()),
        work_order_id=wo,
        tenant_id=tenant,
    )
