"""Entry points: ``create_app`` (HTTP) and ``python -m workorders_service.main migrate|stream``."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI

from shared.http import create_service_app
from shared.runtime import StreamApp, build_stream_app, install_outbox_metrics, service_main
from shared.settings import ServiceSettings
from shared.telemetry import configure_logging, configure_tracing
from workorders_service.api import router
from workorders_service.consumers import subscriptions
from workorders_service.settings import SCHEMA, Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app() -> FastAPI:
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, otlp_endpoint=settings.otel_exporter_endpoint)
    app = create_service_app(settings, title="ZenOps work orders")
    install_outbox_metrics(app, settings, SCHEMA)
    app.include_router(router)
    return app


def create_stream(settings: ServiceSettings) -> StreamApp:
    return build_stream_app(settings, SCHEMA, lambda db, outbox: subscriptions())


if __name__ == "__main__":
    sys.exit(
        service_main(
            sys.argv[1:],
            settings=Settings(),
            schema=SCHEMA,
            migrations_dir=MIGRATIONS,
            stream_factory=create_stream,
        )
    )
