"""Project billing's state of a work order and settle a pending acceptance (architecture §4)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from shared.contracts.billing import WorkOrderBilling
from shared.contracts.workorders import StatusChanged, WorkOrderStatus
from shared.db.uow import UnitOfWork
from workorders_service.domain.model import JsonObject
from workorders_service.handlers.common import emit, lock_work_order
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class RecordWorkOrderBilling:
    """A ``work_order_billing`` event of a work order (and its payload, stored as it came) at its
    aggregate version."""

    work_order_id: uuid.UUID
    event: WorkOrderBilling
    payload: JsonObject
    tenant_id: str | None
    source_version: int


async def record_work_order_billing(uow: UnitOfWork, command: RecordWorkOrderBilling) -> None:
    """Billing projection; settles a pending acceptance, reverting the status change on REJECTED."""
    work_order_id, event = command.work_order_id, command.event
    wo, tenant_id = await lock_work_order(uow, work_order_id, command.tenant_id)
    if tenant_id is None:
        return  # nothing to attach it to: an unknown work order without tenant
    await uow.repo(ProjectionRepository).upsert_billing(
        work_order_id=work_order_id,
        tenant_id=tenant_id,
        payload=command.payload,
        source_version=command.source_version,
    )
    acceptance = event.acceptance
    repo = uow.repo(WorkOrderRepository)
    if wo is None or acceptance is None or wo.acceptance_status != "PENDING":
        return
    pending_request = str(wo.acceptance_request_id) if wo.acceptance_request_id else None
    if acceptance.request_message_id is not None and acceptance.request_message_id != pending_request:
        return  # the answer to an older request: the projection has it, the saga does not
    if acceptance.status == "ACCEPTED":
        await repo.update(work_order_id, acceptance_status="ACCEPTED", acceptance_code=None)
        return
    if acceptance.status != "REJECTED":
        return
    code = acceptance.code or "ACCEPTANCE_REJECTED"
    await repo.update(
        work_order_id,
        acceptance_status="REJECTED",
        acceptance_code=code,
        acceptance_message=acceptance.message,
        acceptance_details=acceptance.details,
    )
    if wo.status != "DATA_PENDING":
        return
    previous = wo.acceptance_previous_status or "DRAFT"
    body = f"Acceptance rejected by billing: {code}"
    if acceptance.message:
        body += f"\n{acceptance.message}"
    await repo.update(work_order_id, status=previous)
    await repo.insert_comment(wo, comment_type="NOTES", body=body, created_by_user_id=None)
    await emit(
        uow,
        wo,
        StatusChanged(
            work_order_id=str(work_order_id),
            from_status="DATA_PENDING",
            to_status=cast(WorkOrderStatus, previous),
            note=body,
            revert_of_rejected_acceptance=True,
        ),
    )
