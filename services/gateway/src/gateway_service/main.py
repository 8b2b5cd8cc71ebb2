"""Entry point: ``uvicorn gateway_service.main:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from gateway_service.app import create_gateway
from gateway_service.settings import Settings
from shared.telemetry import configure_logging, configure_tracing


def create_app() -> FastAPI:
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, otlp_endpoint=settings.otel_exporter_endpoint)
    return create_gateway(settings)
