"""Composition root of the evidence service: the one :class:`~shared.runtime.ServiceDefinition`."""

from __future__ import annotations

from pathlib import Path

from evidence_service.api import router
from evidence_service.consumers import subscriptions
from evidence_service.settings import SCHEMA, Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="evidence",
    title="ZenOps evidence",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=subscriptions,
)
