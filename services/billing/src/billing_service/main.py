"""Entry points: ``create_app`` (HTTP) and ``python -m billing_service.main migrate|stream|...``."""

from __future__ import annotations

import sys
from pathlib import Path

from billing_service.api import router
from billing_service.consumers import subscriptions
from billing_service.settings import SCHEMA, Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="billing",
    title="ZenOps billing",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=lambda _c: subscriptions(),
)
create_app = SERVICE.create_app

if __name__ == "__main__":
    sys.exit(SERVICE.main(sys.argv[1:]))
