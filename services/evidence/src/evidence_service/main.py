"""Entry points: ``create_app`` (HTTP) and ``python -m evidence_service.main migrate|stream|...``."""

from __future__ import annotations

import sys
from pathlib import Path

from evidence_service.api import router
from evidence_service.consumers import subscriptions
from evidence_service.settings import SCHEMA, Settings
from shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="evidence",
    title="ZenOps evidence",
    schema=SCHEMA,
    settings=Settings,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    router=router,
    subscriptions=lambda c: subscriptions(c.settings),
)
create_app = SERVICE.create_app

if __name__ == "__main__":
    sys.exit(SERVICE.main(sys.argv[1:]))
