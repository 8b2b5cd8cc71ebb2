"""Composition root of the factory service: the one definition behind the HTTP app and the stream process."""

from __future__ import annotations

from fastapi import APIRouter

from factory_service import api, api_verify
from factory_service.consumers import subscriptions
from factory_service.settings import Settings
from shared.runtime import ServiceDefinition

router = APIRouter()
router.include_router(api.router)
router.include_router(api_verify.router)  # the public verify route (issue 21), outside /v1/repogen

SERVICE = ServiceDefinition("factory", "ZenOps factory", Settings, router, subscriptions)
