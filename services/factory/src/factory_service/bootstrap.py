"""Composition root of the factory service: the one definition behind the HTTP app and the stream process."""

from __future__ import annotations

from pathlib import Path

from factory_service.api import router
from factory_service.consumers import subscriptions
from factory_service.settings import SCHEMA, Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="factory",
    title="ZenOps factory",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=subscriptions,
)
