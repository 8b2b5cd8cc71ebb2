"""Composition root of the billing service: the one ``ServiceDefinition`` for HTTP and stream."""

from __future__ import annotations

from billing_service.api import router
from billing_service.api.ops import router as ops_router
from billing_service.consumers import subscriptions
from billing_service.metrics import metrics
from billing_service.settings import Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    "billing", "ZenOps billing", Settings, router, subscriptions, ops=ops_router, metrics=metrics
)
