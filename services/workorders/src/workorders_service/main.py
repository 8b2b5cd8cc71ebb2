"""Entry points: ``create_app`` (HTTP) and ``python -m workorders_service.main migrate|stream|...``."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.runtime import ServiceDefinition
from workorders_service.api import router
from workorders_service.consumers import subscriptions
from workorders_service.settings import SCHEMA, Settings

SERVICE = ServiceDefinition(
    name="workorders",
    title="ZenOps work orders",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=lambda _c: subscriptions(),
)
create_app = SERVICE.create_app

if __name__ == "__main__":
    sys.exit(SERVICE.main(sys.argv[1:]))
