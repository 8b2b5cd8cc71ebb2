"""Composition root of the billing service: the one ``ServiceDefinition`` for HTTP and stream."""

from __future__ import annotations

from functools import partial

from billing_service.api import router
from billing_service.api.ops import router as ops_router
from billing_service.consumers import subscriptions
from billing_service.handlers.scheduled_runs import ScheduledPass, SweepOnSchedule
from billing_service.metrics import metrics
from billing_service.payment_janitor_task import run_payment_janitor
from billing_service.scheduler import replica_name, run_refill_scheduler, run_sweep_scheduler
from billing_service.settings import Settings
from shared.runtime import ServiceDefinition, StreamApp


class BillingService(ServiceDefinition[Settings]):
    """Billing's definition: the shared shape, plus the scheduled jobs in the stream process."""

    def stream(self) -> StreamApp:
        """The relay and consumer group, and beside them the subscription refill and reconciliation sweep
        schedulers and the payment janitor (each off when its interval is 0)."""
        app = super().stream()
        c = self.container
        s = c.settings
        run = ScheduledPass(replica_name(), s.messaging_retention_days)
        if s.subscription_refill_interval_s > 0:
            app.extra_tasks.append(
                partial(
                    run_refill_scheduler,
                    c.system_uow,
                    s.subscription_grace_days,
                    s.subscription_refill_interval_s,
                    run,
                )
            )
        if s.reconcile_sweep_interval_s > 0:
            sweep = SweepOnSchedule(run, s.reconcile_sweep_limit, s.reconcile_timeout_minutes)
            app.extra_tasks.append(
                partial(run_sweep_scheduler, c.system_uow, sweep, s.reconcile_sweep_interval_s)
            )
        if c.settings.payment_janitor_interval_s > 0:
            app.extra_tasks.append(partial(run_payment_janitor, c.system_uow, c.settings))
        return app


SERVICE = BillingService(
    "billing", "ZenOps billing", Settings, router, subscriptions, ops=ops_router, metrics=metrics
)
