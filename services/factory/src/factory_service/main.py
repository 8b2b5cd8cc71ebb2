"""Entry points: ``create_app`` (HTTP) and ``python -m factory_service.main migrate|stream|...``."""

from __future__ import annotations

import sys
from pathlib import Path

from factory_service.api import router
from factory_service.consumers import subscriptions
from factory_service.settings import SCHEMA, Settings
from shared.blobstore import BlobStore
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="factory",
    title="ZenOps factory",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=lambda c: subscriptions(c.db, c.outbox, c.settings, BlobStore(c.settings.blob_dir)),
)
create_app = SERVICE.create_app

if __name__ == "__main__":
    sys.exit(SERVICE.main(sys.argv[1:]))
