"""Fixtures for billing's integration tests on the real stack (Postgres + Kafka + services).

HTTP goes through the gateway (service token / studio admin bearer) except where a test needs many
concurrent requests, which go straight to the billing process so the gateway's rate limit is not what
is measured. Saga inputs are real envelopes published on the real broker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT
from devstack.testing.gateway import create_account, eventually
from devstack.testing.messaging import publish as send
from shared.contracts.base import Event
from shared.contracts.workorders import WorkOrderCreated, WorkOrderView
from shared.messaging.envelope import Envelope


@pytest.fixture
async def svc(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """Service-token client through the gateway (V1's view of billing)."""
    headers = {"x-service-token": stack.secrets.service_token}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
async def direct(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """Service-token client straight to the billing HTTP process (for concurrency tests)."""
    headers = {"x-service-token": stack.secrets.service_token}
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(
        base_url=stack.urls["billing"], headers=headers, timeout=60, limits=limits
    ) as client:
        yield client


@dataclass
class Account:
    """A test account created through the control plane."""

    id: str
    external_key: str
    tenant_id: str


def unique_key(kind: str = "partner") -> str:
    """A fresh V1 external key."""
    return f"v1:{kind}:{uuid.uuid4().hex[:12]}"


async def make_account(
    studio: httpx.AsyncClient, *, wallet: int = 0, mode: str = "credit", allowance: int | None = None
) -> Account:
    """Create an account, grant ``wallet`` credits and set its mode (forced when nothing is available)."""
    external_key = unique_key()
    account_id = await create_account(studio, display_name=f"Test {external_key}", external_key=external_key)
    if wallet:
        grant = await studio.post(
            f"/v1/control/accounts/{account_id}/credits/grant",
            json={"amount": wallet, "idempotency_key": f"seed:{account_id}"},
        )
        assert grant.status_code == 201, grant.text
    policy: dict[str, Any] = {"billing_mode": mode, "force_enable_credit": wallet == 0}
    if allowance is not None:
        policy["monthly_report_allowance"] = allowance
    resp = await studio.patch(f"/v1/control/accounts/{account_id}/policy", json=policy)
    assert resp.status_code == 200, resp.text
    return Account(account_id, external_key, TEST_TENANT)


async def balance(svc: httpx.AsyncClient, account_id: str) -> dict[str, int]:
    """``credit`` of the account status view."""
    resp = await svc.get(f"/v1/billing/accounts/{account_id}/status")
    assert resp.status_code == 200, resp.text
    credit: dict[str, int] = resp.json()["credit"]
    return credit


async def publish(
    producer: AIOKafkaProducer,
    event: Event,
    *,
    key: str,
    version: int,
    tenant_id: str = TEST_TENANT,
    envelope: Envelope | None = None,
) -> Envelope:
    """Publish ``event`` (or a given envelope again) on its topic, as the owning service's relay would."""
    return await send(
        producer, envelope or event, aggregate_id=key, version=version, tenant_id=tenant_id, topic=event.TOPIC
    )


async def outbox_events(db: asyncpg.Connection, topic: str, key: str) -> list[dict[str, Any]]:
    """Envelopes billing wrote for ``key`` on ``topic``, in order."""
    rows = await db.fetch(
        "SELECT envelope FROM billing.outbox WHERE topic = $1 AND key = $2 ORDER BY id", topic, key
    )
    return [json.loads(r["envelope"]) for r in rows]


def work_order_created(
    work_order_id: str,
    *,
    external_key: str | None = None,
    value_slab: str = "LT_5CR",
    template_selector: str = "SBI_LT_5CR",
    at: str | None = None,
) -> WorkOrderCreated:
    """``WorkOrderCreated`` for a DRAFT SBI valuation of the test tenant, as work-orders would publish it."""
    now = at or datetime.now(UTC).isoformat()
    return WorkOrderCreated(
        work_order=WorkOrderView(
            id=work_order_id,
            org_id=TEST_TENANT,
            source_type="TENANT",
            report_type="VALUATION",
            bank_name="State Bank of India",
            bank_type="SBI",
            value_slab=value_slab,
            template_selector=template_selector,
            status="DRAFT",
            billing_external_key=external_key,
            created_at=now,
            updated_at=now,
        )
    )


class Helpers:
    """The helpers above, handed to tests as a fixture (``--import-mode=importlib`` cannot import conftest)."""

    Account = Account
    unique_key = staticmethod(unique_key)
    make_account = staticmethod(make_account)
    balance = staticmethod(balance)
    publish = staticmethod(publish)
    eventually = staticmethod(eventually)
    outbox_events = staticmethod(outbox_events)
    work_order_created = staticmethod(work_order_created)


@pytest.fixture
def bh() -> type[Helpers]:
    """Billing test helpers."""
    return Helpers
