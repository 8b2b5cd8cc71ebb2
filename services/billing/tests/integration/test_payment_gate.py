"""An acceptance invoice paid through a provider unlocks its work order's release (issue 16 "done when"):
the acceptance saga drafts the POSTPAID invoice, finance issues it, the customer pays it through a checkout
link at the provider simulator, the signed webhook settles it, and the release gate then decides ``PAID``.
Subscription webhooks (family B) change their subscription once, for both providers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT, make_token
from shared.contracts.factory import ReleaseRequested
from shared.contracts.workorders import AcceptanceRequest, StatusChanged

pytestmark = pytest.mark.stack


async def test_an_invoice_paid_through_the_provider_unlocks_the_release(
    stack: StackInfo,
    studio: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    admin_db: asyncpg.Connection,
    bh: Any,
) -> None:
    acc = await bh.make_account(studio, mode="postpaid")
    wo = str(uuid.uuid4())
    await bh.publish(producer, bh.work_order_created(wo, external_key=acc.external_key), key=wo, version=1)
    request = AcceptanceRequest(
        report_type="VALUATION",
        bank_name="State Bank of India",
        billing_external_key=acc.external_key,
        tenant_id=TEST_TENANT,
    )
    changed = StatusChanged(
        work_order_id=wo, from_status="DRAFT", to_status="DATA_PENDING", acceptance_request=request
    )
    await bh.publish(producer, changed, key=wo, version=2)

    async def drafted() -> str | None:
        value = await admin_db.fetchval(
            "SELECT invoice_id FROM billing.work_orders WHERE work_order_id = $1", uuid.UUID(wo)
        )
        return str(value) if value else None

    invoice_id = await bh.eventually(drafted, what="the acceptance invoice")
    token = make_token(stack, roles=(), capabilities=("invoices.write",))
    async with (
        httpx.AsyncClient(
            base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {token}"}, timeout=60
        ) as finance,
        httpx.AsyncClient(base_url=stack.provider_sim_url or "", timeout=60) as sim,
    ):
        issued = await finance.post(f"/v1/service-invoices/{invoice_id}/issue")
        assert issued.status_code == 201, issued.text
        due = issued.json()["amount_due"]
        link = await finance.post(
            "/v1/payments/checkout-link",
            json={
                "account_id": acc.id,
                "amount": due,
                "purpose": "invoice",
                "provider": "stripe",
                "ref_type": "service_invoice",
                "ref_id": invoice_id,
                "idempotency_key": f"wo-{wo}",
            },
        )
        assert link.status_code == 201, link.text
        paid = await sim.post(
            "/_sim/pay",
            json={"provider": "stripe", "order_id": link.json()["provider_order_id"], "outcome": "paid"},
        )
        assert paid.json()["delivery"]["status"] == 200, paid.text
        invoice = (await finance.get(f"/v1/service-invoices/{invoice_id}")).json()
        assert invoice["status"] == "PAID"
    release_id = str(uuid.uuid4())
    release = ReleaseRequested(
        release_id=release_id,
        work_order_id=wo,
        idempotency_key=f"rel-{wo}",
        override=False,
        override_reason=None,
        pack_id=str(uuid.uuid4()),
        job_status="completed",
        requested_at="2026-02-24T10:00:00.000Z",
    )
    await bh.publish(producer, release, key=wo, version=1)

    async def decided() -> dict[str, Any] | None:
        row = await admin_db.fetchrow(
            "SELECT * FROM billing.gate_decisions WHERE release_id = $1", release_id
        )
        return dict(row) if row else None

    decision = await bh.eventually(decided, what="the gate decision")
    assert decision["result"] == "PAID"


def _signed(stack: StackInfo, provider: str, body: bytes, event_id: str) -> dict[str, str]:
    env = stack.payment_env()
    if provider == "stripe":
        t = int(time.time())
        mac = hmac.new(env["ZENOPS_STRIPE_WEBHOOK_SECRET"].encode(), f"{t}.".encode() + body, hashlib.sha256)
        return {"content-type": "application/json", "stripe-signature": f"t={t},v1={mac.hexdigest()}"}
    mac = hmac.new(env["ZENOPS_RAZORPAY_WEBHOOK_SECRET"].encode(), body, hashlib.sha256)
    return {
        "content-type": "application/json",
        "x-razorpay-signature": mac.hexdigest(),
        "x-razorpay-event-id": event_id,
    }


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
async def test_a_subscription_webhook_changes_its_subscription_once(
    stack: StackInfo, studio: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any, provider: str
) -> None:
    acc = await bh.make_account(studio, mode="postpaid")
    external = f"sub_{uuid.uuid4().hex[:14]}"
    made = await studio.post(
        "/v1/control/subscriptions",
        json={
            "tenant_id": TEST_TENANT,
            "account_id": acc.id,
            "plan_name": f"plan-{provider}",
            "external_provider": provider,
            "external_subscription_id": external,
        },
    )
    assert made.status_code == 201, made.text
    sub_id = made.json()["id"]
    event_id = f"evt_{uuid.uuid4().hex}"
    if provider == "stripe":
        event: dict[str, Any] = {
            "id": event_id,
            "type": "invoice.payment_failed",
            "data": {"object": {"subscription": external}},
        }
    else:
        event = {
            "event": "subscription.halted.payment_failed",
            "payload": {"subscription": {"entity": {"id": external}}},
        }
    body = json.dumps(event).encode()
    url = f"{stack.urls['gateway']}/v1/webhooks/{provider}"
    async with httpx.AsyncClient(timeout=30) as client:
        first = await client.post(url, content=body, headers=_signed(stack, provider, body, event_id))
        again = await client.post(url, content=body, headers=_signed(stack, provider, body, event_id))
        forged = await client.post(url, content=body + b" ", headers=_signed(stack, provider, body, event_id))
    assert first.status_code == 200, first.text
    assert (first.json()["duplicate"], first.json()["status"]) == (False, "PAST_DUE")
    assert (again.json()["duplicate"], again.json()["event_id"]) == (True, first.json()["event_id"])
    assert forged.status_code == 401
    row = await admin_db.fetchrow(
        "SELECT status, grace_until FROM billing.subscriptions WHERE id = $1", uuid.UUID(sub_id)
    )
    assert row["status"] == "past_due"
    assert row["grace_until"] is not None
