"""Composition root of the evidence service."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from evidence_service.settings import SCHEMA, Settings
from shared.container import ServiceContainer


@lru_cache(maxsize=1)
def container() -> ServiceContainer[Any]:
    return ServiceContainer.create(Settings(), SCHEMA)
