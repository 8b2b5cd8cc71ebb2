"""The payment janitor (issue 16 item 5, Kill Bill's idea): orders still open a while after their last
change are asked about at their provider, and one the provider reports paid (or expired) is settled
exactly as its webhook would: the same intake (:func:`ingest_payment_event`), the same settlement, the
same idempotency keys. The answer is stored as a provider event ``janitor:<order>:<status>``, so a
second janitor (another replica) or the late webhook finds the order settled and changes nothing.

"A while" is ``ZENOPS_PAYMENT_JANITOR_PENDING_AFTER_MINUTES`` since the order's last change; an order the
provider still reports open is touched (its ``updated_at`` moves), so it is asked again only after the
same while. Provider calls run outside any transaction; each settlement is its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from billing_service.domain.errors import BillingError
from billing_service.domain.payments import OPEN_STATUSES, OrderStatus, Provider, ProviderEvent
from billing_service.handlers._common import utcnow
from billing_service.handlers.payment_webhooks import IngestPaymentEvent, ingest_payment_event
from billing_service.providers import Providers
from billing_service.repositories.payments import OrderUpdate, PaymentOrderRow, PaymentRepository
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass(frozen=True, slots=True)
class SweepOpenOrders:
    """One janitor pass: orders unchanged for ``pending_after``, at most ``limit``."""

    pending_after: timedelta
    limit: int = 50


@dataclass(slots=True)
class JanitorReport:
    """What one pass did."""

    asked: int = 0
    settled: list[str] = field(default_factory=list)
    still_open: int = 0
    errors: list[str] = field(default_factory=list)


def janitor_event(
    order: PaymentOrderRow, status: OrderStatus, raw: str, payment_id: str | None
) -> ProviderEvent:
    """The provider's answer as the event the webhook would have brought."""
    return ProviderEvent(
        event_type=f"janitor.{raw}",
        status=status,
        provider_order_id=order.provider_order_id,
        provider_payment_id=payment_id,
        payment_order_id=order.id,
        idempotency_key=order.idempotency_key,
    )


async def sweep_open_orders(
    open_uow: OpenUnitOfWork, providers: Providers, command: SweepOpenOrders
) -> JanitorReport:
    """Ask the provider about each stale open order and settle what it reports settled."""
    report = JanitorReport()
    async with open_uow() as uow:
        candidates = await uow.repo(PaymentRepository).open_orders(
            changed_before=utcnow() - command.pending_after, limit=command.limit
        )
        # touch them now: another pass (or replica) skips them for the same while
        for order in candidates:
            await uow.repo(PaymentRepository).change(order.id, OrderUpdate(), now=utcnow())
        await uow.commit()
    for order in candidates:
        report.asked += 1
        try:
            remote = await providers.get(Provider(order.provider)).fetch_order(order.provider_order_id or "")
        except BillingError as exc:
            report.errors.append(f"{order.id}: {exc.code}")
            continue
        if remote.status in OPEN_STATUSES:
            report.still_open += 1
            continue
        event = janitor_event(order, remote.status, remote.raw_status, remote.provider_payment_id)
        try:
            async with open_uow() as uow:
                result = await ingest_payment_event(
                    uow,
                    IngestPaymentEvent(
                        provider=Provider(order.provider),
                        event_id=f"janitor:{order.id}:{remote.status.value}",
                        event=event,
                        payload={
                            "source": "janitor",
                            "provider_order_id": remote.provider_order_id,
                            "status": remote.raw_status,
                        },
                        payload_hash="",
                        signature_ok=True,
                        received_at=utcnow(),
                    ),
                )
                await uow.commit()
        except BillingError as exc:
            report.errors.append(f"{order.id}: {exc.code}")
            continue
        if not result.duplicate and result.status is OrderStatus.PAID:
            report.settled.append(order.id)
    if report.settled or report.errors:
        log.info(
            "payment janitor pass",
            extra={"asked": report.asked, "settled": len(report.settled), "errors": report.errors[:10]},
        )
    return report
