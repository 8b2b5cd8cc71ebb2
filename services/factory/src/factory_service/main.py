"""Entry points: ``create_app`` (HTTP) and ``python -m factory_service.main migrate|stream``."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI

from factory_service.api import router
from factory_service.consumers import subscriptions
from factory_service.settings import SCHEMA, Settings
from shared.blobstore import BlobStore
from shared.http import create_service_app
from shared.runtime import StreamApp, build_stream_app, install_outbox_metrics, service_main
from shared.settings import ServiceSettings
from shared.telemetry import configure_logging, configure_tracing

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app() -> FastAPI:
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, otlp_endpoint=settings.otel_exporter_endpoint)
    app = create_service_app(settings, title="ZenOps factory")
    install_outbox_metrics(app, settings, SCHEMA)
    app.include_router(router)
    return app


def create_stream(settings: ServiceSettings) -> StreamApp:
    assert isinstance(settings, Settings)
    blobs = BlobStore(settings.blob_dir)
    return build_stream_app(settings, SCHEMA, lambda db, outbox: subscriptions(db, outbox, settings, blobs))


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
