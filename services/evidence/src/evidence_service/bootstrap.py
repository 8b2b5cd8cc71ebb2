"""Composition root of the evidence service: the one :class:`~shared.runtime.ServiceDefinition`."""

from __future__ import annotations

from evidence_service.api import router
from evidence_service.consumers import subscriptions
from evidence_service.settings import Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition("evidence", "ZenOps evidence", Settings, router, subscriptions)
