"""``/readyz`` on the real stack: every service's database, broker and stream heartbeat answer, the
gateway sees every upstream ready, and a heartbeat older than the limit reads as stale."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.launcher import StackInfo
from devstack.testing.gateway import eventually
from shared.health import OK, StreamHeartbeat, heartbeat_probe

pytestmark = pytest.mark.stack

SERVICES = ("workorders", "evidence", "factory", "billing")


async def _ready(url: str) -> httpx.Response | None:
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(f"{url}/readyz")
    return resp if resp.status_code == 200 else None


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_is_ready_when_database_broker_and_stream_answer(
    stack: StackInfo, service: str
) -> None:
    resp = await eventually(lambda: _ready(stack.urls[service]), f"{service} /readyz", within_s=30)
    assert resp.json() == {
        "status": "ok",
        "service": service,
        "details": {"broker": OK, "database": OK, "stream": OK},
    }


async def test_the_gateway_is_ready_when_every_upstream_is(stack: StackInfo) -> None:
    resp = await eventually(lambda: _ready(stack.urls["gateway"]), "gateway /readyz", within_s=30)
    assert resp.json()["details"] == dict.fromkeys(SERVICES, OK)


async def test_a_heartbeat_older_than_the_limit_is_stale(stack: StackInfo) -> None:
    engine = create_async_engine(stack.dsns["billing"]["system"])
    try:
        await StreamHeartbeat(engine, "billing", process="readiness-test").beat()
        assert await heartbeat_probe(engine, "billing", stale_after_s=60)() == OK
        assert (await heartbeat_probe(engine, "billing", stale_after_s=-1)()).startswith("stale (")
    finally:
        await engine.dispose()
