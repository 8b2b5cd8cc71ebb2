"""Composition root of the work-orders service: the one place that wires HTTP, stream and settings."""

from __future__ import annotations

from pathlib import Path

from shared.runtime import ServiceDefinition
from workorders_service.api import router
from workorders_service.consumers import subscriptions
from workorders_service.settings import SCHEMA, Settings

SERVICE = ServiceDefinition(
    name="workorders",
    title="ZenOps work orders",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=subscriptions,
)
