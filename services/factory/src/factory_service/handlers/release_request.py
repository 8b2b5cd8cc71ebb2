"""Request the release of a work order's deliverables (domain.md §6; architecture §4; decision 8).

Factory records the request as a PENDING release and asks billing; billing's gate decides
(``gate_outcome``). A new key after a successful release is recorded as a link to that success.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from factory_service.domain.errors import (
    IdempotencyKeyAlreadyUsed,
    PackGenerationNotCompleted,
    ReleaseInProgress,
    ReportPackNotLinked,
    WorkOrderNotFound,
)
from factory_service.domain.release import (
    PENDING,
    SUCCESSFUL_GATE_RESULTS,
    ReleaseRequest,
    billing_metadata,
    derive_billing_mode,
)
from factory_service.handlers.common import emit_pack_state, releases_url
from factory_service.records import AuditScope, NewRelease, ReleaseRecord
from factory_service.repositories import (
    AuditLog,
    JobRepository,
    PackRepository,
    ReleaseRepository,
    WorkOrderRepository,
)
from shared.contracts.factory import ReleaseRecorded, ReleaseRequested
from shared.db.uow import UnitOfWork
from shared.timestamps import utc_now_iso


@dataclass(frozen=True)
class RequestRelease:
    """A validated release request of a factory operator."""

    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    actor_user_id: uuid.UUID | None
    request: ReleaseRequest


@dataclass(frozen=True)
class ReleaseStarted:
    """What the HTTP layer needs to answer: which release to show and whether it is a replay."""

    release_id: str
    idempotent: bool
    recorded_release_id: str | None
    pack_state_version: int | None


async def request_release(uow: UnitOfWork, command: RequestRelease) -> ReleaseStarted:
    """Validate, apply the key and prior-success rules, record the PENDING release, ask billing."""
    releases = uow.repo(ReleaseRepository)
    tenant_id, work_order_id, key = command.tenant_id, command.work_order_id, command.request.idempotency_key
    # Key lock first, work-order lock second (always this order: no deadlock between requests).
    await releases.lock(f"release-key|{tenant_id}|{key}")
    await releases.lock(f"release-wo|{work_order_id}")
    if await uow.repo(WorkOrderRepository).get(work_order_id) is None:
        raise WorkOrderNotFound(work_order_id)
    stored = await releases.by_key(tenant_id, key)
    if stored is not None:
        if stored.work_order_id != str(work_order_id):
            raise IdempotencyKeyAlreadyUsed(
                "idempotency key was already used for another work order", details={"idempotency_key": key}
            )
        shown = stored.prior_release_id or stored.id
        return ReleaseStarted(shown, True, stored.id if stored.prior_release_id else None, None)
    pack = await uow.repo(PackRepository).live(work_order_id)
    if pack is None:
        raise ReportPackNotLinked
    pack_id = uuid.UUID(pack.id)
    job = await uow.repo(JobRepository).of_pack(pack_id)
    if job is None or job.status != "completed":
        raise PackGenerationNotCompleted(details={"job_status": job.status if job else None})
    prior = await releases.first_in_state(work_order_id, pack_id, sorted(SUCCESSFUL_GATE_RESULTS))
    pending = await releases.first_in_state(work_order_id, pack_id, (PENDING,))
    if prior is None and pending is not None:
        raise ReleaseInProgress(
            details={"release_id": pending.id, "poll_url": releases_url(str(work_order_id))}
        )
    billing = await uow.repo(WorkOrderRepository).billing(work_order_id)
    state = billing.state if billing else None
    metadata: dict[str, Any] = {
        "report_generation_job_id": job.id,
        "report_generation_job_status": job.status,
        "override_requested": command.request.override,
        **billing_metadata(state),
    }
    if prior is not None:
        return await _link_to_prior_success(uow, command, pack_id=pack_id, prior=prior, metadata=metadata)
    release = await _add_release(uow, command, pack_id, derive_billing_mode(state), PENDING, None, metadata)
    requested = {
        "repogen_work_order_id": str(work_order_id),
        "idempotency_key": key,
        "override": command.request.override,
        "override_reason": command.request.override_reason,
    }
    await _audit(uow, command, release, "deliverables_release_requested", requested)
    version = await emit_pack_state(
        uow,
        ReleaseRequested(
            release_id=release.id,
            work_order_id=str(work_order_id),
            idempotency_key=key,
            override=command.request.override,
            override_reason=command.request.override_reason,
            pack_id=str(pack_id),
            job_status=job.status,
            actor_user_id=str(command.actor_user_id) if command.actor_user_id else None,
            requested_at=utc_now_iso(),
        ),
        work_order_id=work_order_id,
        tenant_id=tenant_id,
    )
    await uow.commit()
    return ReleaseStarted(release.id, False, None, version)


async def _link_to_prior_success(
    uow: UnitOfWork,
    command: RequestRelease,
    *,
    pack_id: uuid.UUID,
    prior: ReleaseRecord,
    metadata: dict[str, Any],
) -> ReleaseStarted:
    """Decision 8: the new key is recorded as a link to the prior success, which it returns."""
    linked = {**metadata, "prior_release_id": prior.id, "replay_of_prior_success": True}
    mode, result = prior.billing_mode_at_release, prior.billing_gate_result
    recorded = await _add_release(uow, command, pack_id, mode, result, uuid.UUID(prior.id), linked)
    replayed = {"prior_release_id": prior.id, "idempotency_key": command.request.idempotency_key}
    await _audit(uow, command, recorded, "deliverables_release_replayed", replayed)
    version = await emit_pack_state(
        uow,
        ReleaseRecorded(work_order_id=str(command.work_order_id), release=recorded.model_dump()),
        work_order_id=command.work_order_id,
        tenant_id=command.tenant_id,
    )
    await uow.commit()
    return ReleaseStarted(prior.id, True, recorded.id, version)


async def _add_release(
    uow: UnitOfWork,
    command: RequestRelease,
    pack_id: uuid.UUID,
    mode: str | None,
    result: str,
    prior_release_id: uuid.UUID | None,
    metadata: dict[str, Any],
) -> ReleaseRecord:
    """Insert the release row of this request; returns it."""
    row: NewRelease = {
        "id": uuid.uuid4(),
        "tenant_id": command.tenant_id,
        "work_order_id": command.work_order_id,
        "report_pack_id": pack_id,
        "released_by_user_id": command.actor_user_id,
        "idempotency_key": command.request.idempotency_key,
        "override_requested": command.request.override,
        "override_reason": command.request.override_reason,
        "billing_mode_at_release": mode,
        "billing_gate_result": result,
        "prior_release_id": prior_release_id,
        "metadata_json": metadata,
        "released_at": None,
    }
    return await uow.repo(ReleaseRepository).add(row)


async def _audit(
    uow: UnitOfWork,
    command: RequestRelease,
    release: ReleaseRecord,
    action: str,
    metadata: dict[str, Any],
) -> None:
    await uow.repo(AuditLog).record(
        AuditScope(command.tenant_id, command.work_order_id, uuid.UUID(release.report_pack_id)),
        action,
        ("repogen_deliverable_release", release.id),
        metadata,
        command.actor_user_id,
    )
