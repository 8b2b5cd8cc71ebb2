"""The refill scheduler of the billing stream process (issue 16, domain.md §7.7): every
``ZENOPS_SUBSCRIPTION_REFILL_INTERVAL_S`` seconds it runs the due processing of
``POST /subscriptions/refill-due`` in its own transaction.

Safe with several replicas: the due scan takes its rows ``FOR UPDATE SKIP LOCKED`` and each refill checks
its period key under the row lock, so two schedulers (or a scheduler and the route) refill a period once.
A failing pass is logged and the next tick tries again; it never stops the stream process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from billing_service.handlers.subscription_refills import (
    RefillDueReport,
    RefillDueSubscriptions,
    refill_due_subscriptions,
)
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

#: rows one scheduled pass handles (the route's maximum)
SCHEDULED_LIMIT = 500

OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


async def refill_tick(open_uow: OpenUnitOfWork, grace_days: int) -> RefillDueReport:
    """One scheduled pass: due processing in one transaction, committed."""
    async with open_uow() as uow:
        report = await refill_due_subscriptions(
            uow,
            RefillDueSubscriptions(SCHEDULED_LIMIT, dry_run=False, grace_days=grace_days, source="scheduler"),
        )
        await uow.commit()
    if report.refilled or report.past_due or report.suspended or report.reactivated or report.errors:
        log.info(
            "subscription refill pass",
            extra={
                "scanned": report.scanned,
                "refilled": report.refilled,
                "past_due": report.past_due,
                "suspended": report.suspended,
                "reactivated": report.reactivated,
                "errors": len(report.errors),
            },
        )
    return report


async def run_refill_scheduler(open_uow: OpenUnitOfWork, grace_days: int, interval_s: float) -> None:
    """Tick forever (until cancelled); a pass that raises is logged and retried at the next tick."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await refill_tick(open_uow, grace_days)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription refill pass failed; retrying at the next tick")
