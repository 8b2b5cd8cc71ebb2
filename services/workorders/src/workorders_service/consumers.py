"""Kafka subscribers of the work-orders service: contract → handler (projections of other services).

Each handler runs inside the consumer's unit of work (system role, same transaction as the inbox row), so a
redelivered message changes nothing twice and a stale ``aggregate_version`` is skipped by the runner.
"""

from __future__ import annotations

from shared.container import ServiceContainer
from shared.contracts.billing import WorkOrderBilling
from shared.contracts.evidence import EvidenceState
from shared.contracts.factory import PackCreated, PackFailed, PackGenerated, ReleaseRecorded
from shared.contracts.topics import BILLING_WORK_ORDER_BILLING, EVIDENCE_WORK_ORDER_EVIDENCE, FACTORY_PACK
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope
from workorders_service.handlers import apply_evidence_state, apply_pack_event, apply_work_order_billing
from workorders_service.settings import Settings


async def on_evidence_state(uow: UnitOfWork, envelope: Envelope) -> None:
    """Evidence projection, system notes, current readiness (decision 5)."""
    await apply_evidence_state(uow, envelope)


async def on_work_order_billing(uow: UnitOfWork, envelope: Envelope) -> None:
    """Billing projection and the acceptance saga (revert on REJECTED)."""
    await apply_work_order_billing(uow, envelope)


async def on_pack_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Pack projection: created, generated, failed (decision 7), release recorded."""
    await apply_pack_event(uow, envelope)


def subscriptions(c: ServiceContainer[Settings]) -> list[Subscription]:
    """What the work-orders stream process consumes (architecture §2); the runner gives each handler its
    unit of work, so the container is not needed here."""
    return [
        Subscription(EVIDENCE_WORK_ORDER_EVIDENCE, on_evidence_state, types=frozenset({EvidenceState.TYPE})),
        Subscription(
            BILLING_WORK_ORDER_BILLING, on_work_order_billing, types=frozenset({WorkOrderBilling.TYPE})
        ),
        Subscription(
            FACTORY_PACK,
            on_pack_event,
            types=frozenset({PackCreated.TYPE, PackGenerated.TYPE, PackFailed.TYPE, ReleaseRecorded.TYPE}),
        ),
    ]
