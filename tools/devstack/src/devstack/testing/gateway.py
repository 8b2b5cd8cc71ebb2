"""Steps the end-to-end tests repeat against the running system: create a work order through the
gateway, wait for an eventually consistent read, publish a contract event as its producer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from devstack.testing.data import TEST_TENANT, WORK_ORDERS, work_order_body
from shared.contracts import Event
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import make_producer

T = TypeVar("T")


async def create_work_order(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    """Create a work order (the SBI valuation unless ``fields`` say otherwise); fails unless 201."""
    resp = await client.post(WORK_ORDERS, json=work_order_body(**fields))
    assert resp.status_code == 201, resp.text
    return resp


async def new_work_order_id(client: httpx.AsyncClient, **fields: Any) -> str:
    """The id of a work order created by :func:`create_work_order`."""
    return str((await create_work_order(client, **fields)).json()["work_order_id"])


async def create_account(studio: httpx.AsyncClient, *, display_name: str, external_key: str) -> str:
    """The id of a new external-associate billing account of the test tenant; fails unless 201."""
    resp = await studio.post(
        "/v1/control/accounts",
        json={
            "tenant_id": TEST_TENANT,
            "account_type": "external_associate",
            "display_name": display_name,
            "external_key": external_key,
        },
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["account_id"])


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, *, within_s: float = 30.0, every_s: float = 0.1
) -> T:
    """The first truthy result of ``check``; fails with "timed out waiting for <what>" after ``within_s``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)


async def get_when_found(client: httpx.AsyncClient, url: str, *, within_s: float = 30.0) -> httpx.Response:
    """``GET url`` until it answers 200 or ``within_s`` pass; the last response either way."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        resp = await client.get(url)
        if resp.status_code == 200 or asyncio.get_running_loop().time() > deadline:
            return resp
        await asyncio.sleep(0.1)


async def publish_payload(
    bootstrap: str,
    topic: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    aggregate_id: str,
    version: int = 1,
    tenant_id: str = TEST_TENANT,
    client_id: str,
) -> None:
    """Send ``payload`` in a fresh envelope on ``topic``, keyed by ``aggregate_id``, as a relay would."""
    envelope = Envelope.new(
        event_type=event_type,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        payload=payload,
        tenant_id=tenant_id,
    )
    producer = make_producer(bootstrap, client_id=client_id)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=envelope.to_bytes(), key=aggregate_id.encode())
    finally:
        await producer.stop()


async def publish_event(
    bootstrap: str,
    event: Event,
    *,
    aggregate_id: str,
    version: int = 1,
    tenant_id: str = TEST_TENANT,
    client_id: str,
) -> None:
    """Publish the contract ``event`` on its topic (see :func:`publish_payload`)."""
    await publish_payload(
        bootstrap,
        event.TOPIC,
        event.TYPE,
        event.to_payload(),
        aggregate_id=aggregate_id,
        version=version,
        tenant_id=tenant_id,
        client_id=client_id,
    )
