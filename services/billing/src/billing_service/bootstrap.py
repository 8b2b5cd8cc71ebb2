"""Composition root of the billing service: the one ``ServiceDefinition`` for HTTP and stream."""

from __future__ import annotations

from pathlib import Path

from billing_service.api import router
from billing_service.consumers import subscriptions
from billing_service.settings import SCHEMA, Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="billing",
    title="ZenOps billing",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=subscriptions,
)
