"""The payment janitor's loop in the billing stream process (beside the refill scheduler): every
``ZENOPS_PAYMENT_JANITOR_INTERVAL_S`` seconds one :func:`sweep_open_orders` pass; a failing pass is
logged and retried at the next tick, never stopping the stream process."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx

from billing_service.handlers.payment_janitor import OpenUnitOfWork, SweepOpenOrders, sweep_open_orders
from billing_service.providers import Providers
from billing_service.settings import Settings

log = logging.getLogger(__name__)


async def run_payment_janitor(open_uow: OpenUnitOfWork, settings: Settings) -> None:
    """Tick forever (until cancelled)."""
    command = SweepOpenOrders(
        timedelta(minutes=settings.payment_janitor_pending_after_minutes), settings.payment_janitor_batch
    )
    async with httpx.AsyncClient(timeout=settings.payment_provider_timeout_s) as client:
        providers = Providers.from_settings(settings, client)
        while True:
            await asyncio.sleep(settings.payment_janitor_interval_s)
            try:
                await sweep_open_orders(open_uow, providers, command)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("payment janitor pass failed; retrying at the next tick")
