"""Composition root of the work-orders service: the one place that wires HTTP, stream and settings."""

from __future__ import annotations

from shared.runtime import ServiceDefinition
from workorders_service.api import router
from workorders_service.consumers import subscriptions
from workorders_service.settings import Settings

SERVICE = ServiceDefinition("workorders", "ZenOps work orders", Settings, router, subscriptions)
