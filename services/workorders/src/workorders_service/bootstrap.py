"""Composition root of the work-orders service: the only place that wires concrete adapters."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shared.container import ServiceContainer
from workorders_service.settings import SCHEMA, Settings


@lru_cache(maxsize=1)
def container() -> ServiceContainer[Any]:
    return ServiceContainer.create(Settings(), SCHEMA)
