"""The dev stack's CORS origins for the gateway (issue 20): the console's and the usual dev servers'."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import catalog
from devstack.launcher import CORS_ORIGINS_ENV, StackInfo, service_env
from devstack.postgres import PgEndpoint, Secrets
from devstack.zipkin import Tracing


def _info(**urls: str) -> StackInfo:
    names = (
        "postgres_password",
        "jwt_secret",
        "service_token",
        "studio_admin_token",
        "webhook_secret",
        "console_secret",
        "stripe_secret_key",
        "razorpay_key_id",
        "razorpay_key_secret",
        "stripe_webhook_secret",
        "razorpay_webhook_secret",
    )
    return StackInfo(
        state_dir=Path("/nonexistent"),
        postgres=PgEndpoint("127.0.0.1", 5432, "zenops"),
        admin_dsn="postgresql://admin@127.0.0.1:5432/zenops",
        dsns={s: {"owner": "o", "app": "a", "system": "s"} for s in catalog.db_services()},
        kafka_bootstrap="127.0.0.1:9092",
        urls={"gateway": "http://127.0.0.1:8080", **urls},
        secrets=Secrets(Path("/nonexistent/secrets.json"), dict.fromkeys(names, "x") | {"roles": {}}),
        postgres_embedded=False,
        kafka_embedded=False,
        tracing=Tracing("off"),
    )


def test_the_gateway_allows_the_console_and_local_dev_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CORS_ORIGINS_ENV, raising=False)
    info = _info(console="http://127.0.0.1:8090")

    origins = service_env(info, catalog.GATEWAY)[CORS_ORIGINS_ENV].split(",")

    assert origins[:2] == ["http://127.0.0.1:8090", "http://localhost:8090"]
    assert {"http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:3000"} <= set(origins)
    assert len(origins) == len(set(origins))
    assert CORS_ORIGINS_ENV not in service_env(info, catalog.service("billing"))


def test_an_origin_list_of_the_shell_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CORS_ORIGINS_ENV, "http://localhost:4200")
    env = service_env(_info(), catalog.GATEWAY)
    assert env[CORS_ORIGINS_ENV] == "http://localhost:4200"


def test_report_qr_codes_point_at_this_stacks_gateway() -> None:
    info = _info()
    info.urls["gateway"] = "http://127.0.0.1:18123"

    assert service_env(info, catalog.service("factory"))["ZENOPS_PUBLIC_BASE_URL"] == "http://127.0.0.1:18123"
