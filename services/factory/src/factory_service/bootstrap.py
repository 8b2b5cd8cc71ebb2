"""Composition root of the factory service: the one definition behind the HTTP app and the stream process."""

from __future__ import annotations

from factory_service.api import router
from factory_service.consumers import subscriptions
from factory_service.settings import Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition("factory", "ZenOps factory", Settings, router, subscriptions)
