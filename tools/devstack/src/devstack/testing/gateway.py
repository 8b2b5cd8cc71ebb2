"""Steps the tests repeat against the running system: create a work order or an account through the
gateway, read until an eventually consistent view answers. :func:`eventually` (from
:mod:`devstack.testing.polling`) and :func:`publish_event`/:func:`publish_payload` (over
:func:`devstack.testing.messaging.publish`) stay importable from here.
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from devstack.testing.data import TEST_TENANT, WORK_ORDERS, work_order_body
from devstack.testing.messaging import RawEvent, publish
from devstack.testing.polling import NotYet, eventually
from shared.contracts import Event
from shared.messaging.envelope import Envelope

__all__ = [
    "create_account",
    "create_work_order",
    "eventually",
    "get_when_found",
    "new_work_order_id",
    "publish_event",
    "publish_payload",
]


async def create_work_order(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    """Create a work order (the SBI valuation unless ``fields`` say otherwise); fails unless 201."""
    resp = await client.post(WORK_ORDERS, json=work_order_body(**fields))
    assert resp.status_code == 201, resp.text  # noqa: S101  a test helper: a failed create fails the test
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
    assert resp.status_code == 201, resp.text  # noqa: S101  a test helper: a failed create fails the test
    return str(resp.json()["account_id"])


async def get_when_found(
    client: httpx.AsyncClient, url: str, *, within_s: float = 30.0, **request: Any
) -> httpx.Response:
    """``GET url`` (with ``request``'s options) until it answers 200 or ``within_s`` pass; the last
    response either way, so the caller asserts on its status and body."""
    last: list[httpx.Response] = []

    async def found() -> httpx.Response | None:
        last.append(await client.get(url, **request))
        return last[-1] if last[-1].status_code == 200 else None

    with contextlib.suppress(NotYet):
        return await eventually(found, f"GET {url} to answer 200", within_s=within_s)
    return last[-1]


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
) -> Envelope:
    """Send ``payload`` in a fresh envelope on ``topic``, keyed by ``aggregate_id`` (see :func:`publish`)."""
    message = RawEvent(topic, event_type, payload)
    return await publish(
        bootstrap,
        message,
        aggregate_id=aggregate_id,
        version=version,
        tenant_id=tenant_id,
        client_id=client_id,
    )


async def publish_event(
    bootstrap: str,
    event: Event,
    *,
    aggregate_id: str,
    version: int = 1,
    tenant_id: str = TEST_TENANT,
    client_id: str,
) -> Envelope:
    """Publish the contract ``event`` on its topic (see :func:`publish`)."""
    return await publish(
        bootstrap, event, aggregate_id=aggregate_id, version=version, tenant_id=tenant_id, client_id=client_id
    )
