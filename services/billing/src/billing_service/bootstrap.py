"""Composition root of the billing service: the one ``ServiceDefinition`` for HTTP and stream."""

from __future__ import annotations

from functools import partial

from billing_service.api import router
from billing_service.api.ops import router as ops_router
from billing_service.consumers import subscriptions
from billing_service.metrics import metrics
from billing_service.payment_janitor_task import run_payment_janitor
from billing_service.scheduler import run_refill_scheduler
from billing_service.settings import Settings
from shared.runtime import ServiceDefinition, StreamApp


class BillingService(ServiceDefinition[Settings]):
    """Billing's definition: the shared shape, plus the refill scheduler in the stream process."""

    def stream(self) -> StreamApp:
        """The relay and consumer group, and the refill scheduler and payment janitor beside them."""
        app = super().stream()
        c = self.container
        interval = c.settings.subscription_refill_interval_s
        if interval > 0:
            app.extra_tasks.append(
                partial(run_refill_scheduler, c.system_uow, c.settings.subscription_grace_days, interval)
            )
        if c.settings.payment_janitor_interval_s > 0:
            app.extra_tasks.append(partial(run_payment_janitor, c.system_uow, c.settings))
        return app


SERVICE = BillingService(
    "billing", "ZenOps billing", Settings, router, subscriptions, ops=ops_router, metrics=metrics
)
