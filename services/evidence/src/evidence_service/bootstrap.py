"""Composition root of the evidence service."""

from __future__ import annotations

from functools import lru_cache

from evidence_service.settings import SCHEMA, Settings
from shared.container import ServiceContainer


@lru_cache(maxsize=1)
def container() -> ServiceContainer:
    return ServiceContainer.create(Settings(), SCHEMA)
