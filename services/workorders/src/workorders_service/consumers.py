"""Kafka subscribers of the work-orders service: contract → command → handler (projections of other services).

Each subscriber runs inside the consumer's unit of work (system role, same transaction as the inbox row),
so a redelivered message changes nothing twice and a stale ``aggregate_version`` is skipped by the runner.
"""

from __future__ import annotations

import uuid

from shared.container import ServiceContainer
from shared.contracts.billing import WorkOrderBilling
from shared.contracts.evidence import EvidenceState
from shared.contracts.factory import PackCreated, PackFailed, PackGenerated, ReleaseRecorded
from shared.contracts.topics import BILLING_WORK_ORDER_BILLING, EVIDENCE_WORK_ORDER_EVIDENCE, FACTORY_PACK
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope
from workorders_service.handlers.record_evidence_state import RecordEvidenceState, record_evidence_state
from workorders_service.handlers.record_pack_event import PackEvent, RecordPackEvent, record_pack_event
from workorders_service.handlers.record_work_order_billing import (
    RecordWorkOrderBilling,
    record_work_order_billing,
)
from workorders_service.settings import Settings

_PACK_EVENTS: dict[str, type[PackEvent]] = {
    event.TYPE: event for event in (PackCreated, PackGenerated, PackFailed, ReleaseRecorded)
}


async def on_evidence_state(uow: UnitOfWork, envelope: Envelope) -> None:
    """Evidence projection, system notes, current readiness (decision 5)."""
    event = EvidenceState.model_validate(envelope.payload)
    command = RecordEvidenceState(
        uuid.UUID(event.work_order_id), event, envelope.tenant_id, envelope.aggregate_version
    )
    await record_evidence_state(uow, command)


async def on_work_order_billing(uow: UnitOfWork, envelope: Envelope) -> None:
    """Billing projection and the acceptance saga (revert on REJECTED)."""
    event = WorkOrderBilling.model_validate(envelope.payload)
    command = RecordWorkOrderBilling(
        uuid.UUID(event.work_order_id),
        event,
        dict(envelope.payload),
        envelope.tenant_id,
        envelope.aggregate_version,
    )
    await record_work_order_billing(uow, command)


async def on_pack_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Pack projection: created, generated, failed (decision 7), release recorded."""
    contract = _PACK_EVENTS.get(envelope.type)
    if contract is None:
        return
    work_order_id = uuid.UUID(str(envelope.payload.get("work_order_id") or envelope.aggregate_id))
    command = RecordPackEvent(
        work_order_id,
        contract.model_validate(envelope.payload),
        envelope.tenant_id,
        envelope.aggregate_version,
    )
    await record_pack_event(uow, command)


def subscriptions(_c: ServiceContainer[Settings]) -> list[Subscription]:
    """What the work-orders stream process consumes (architecture §2); the runner gives each subscriber
    its unit of work, so nothing of the container is needed here."""
    return [
        # a whole state: of several in one batch only the newest is applied, unless an older one
        # carries notes (they become comments); billing states settle the acceptance saga: never skipped
        Subscription(
            EVIDENCE_WORK_ORDER_EVIDENCE,
            on_evidence_state,
            types=frozenset({EvidenceState.TYPE}),
            coalesce=lambda envelope: not envelope.payload.get("notes"),
        ),
        Subscription(
            BILLING_WORK_ORDER_BILLING, on_work_order_billing, types=frozenset({WorkOrderBilling.TYPE})
        ),
        Subscription(FACTORY_PACK, on_pack_event, types=frozenset(_PACK_EVENTS)),
    ]
