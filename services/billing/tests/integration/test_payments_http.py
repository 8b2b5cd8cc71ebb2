"""Payment rails and provider webhooks on the real stack, through the gateway and the dev stack's provider
simulator (issue 16 items 3-5; domain.md §7.8, §7.9; vectors K; decisions 14, 15).

The checkout goes through billing's real adapters to the simulator, which validates each request as the
provider would; the simulator "pays" and delivers the provider's signed webhook to the gateway. Forged,
stale and replayed deliveries are signed (or mis-signed) here with the stack's webhook secrets.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.fixtures import make_token
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

PROVIDERS = ("stripe", "razorpay")


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test: its own account and nothing else in its lists."""
    return str(uuid.uuid4())


@pytest.fixture
async def finance(stack: StackInfo, tenant: str) -> AsyncIterator[httpx.AsyncClient]:
    """A finance user of ``tenant`` through the gateway (invoices.write: payments-write, §9.4)."""
    token = make_token(stack, tenant_id=tenant, roles=(), capabilities=("invoices.write",))
    async with httpx.AsyncClient(
        base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        yield client


@pytest.fixture
async def sim(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """The provider simulator's control routes."""
    assert stack.provider_sim_url, "the dev stack runs the provider simulator"
    async with httpx.AsyncClient(base_url=stack.provider_sim_url, timeout=60) as client:
        yield client


@pytest.fixture
async def account(studio: httpx.AsyncClient, tenant: str) -> str:
    """The tenant's account (created through the control plane)."""
    resp = await studio.post(
        "/v1/control/accounts",
        json={
            "tenant_id": tenant,
            "account_type": "tenant",
            "display_name": f"Tenant {tenant[:8]}",
            "external_key": f"v2:tenant:{tenant}",
        },
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["account_id"])


async def wallet(studio: httpx.AsyncClient, account_id: str) -> int:
    resp = await studio.get(f"/v1/control/accounts/{account_id}/status")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["credit"]["wallet"])


async def topup(
    finance: httpx.AsyncClient, account_id: str, provider: str, credits: int = 10
) -> dict[str, Any]:
    resp = await finance.post(
        "/v1/payments/topup",
        json={
            "account_id": account_id,
            "credits_amount": credits,
            "provider": provider,
            "idempotency_key": f"topup-{uuid.uuid4()}",
        },
    )
    assert resp.status_code == 201, resp.text
    order = dict(resp.json())
    assert order["status"] == "REQUIRES_ACTION"
    assert order["provider_order_id"]
    return order


async def sim_pay(
    sim: httpx.AsyncClient,
    provider: str,
    order: dict[str, Any],
    outcome: str = "paid",
    *,
    deliver: bool = True,
) -> dict[str, Any]:
    resp = await sim.post(
        "/_sim/pay",
        json={
            "provider": provider,
            "order_id": order["provider_order_id"],
            "outcome": outcome,
            "deliver": deliver,
        },
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def signed(
    stack: StackInfo,
    provider: str,
    body: bytes,
    *,
    event_id: str | None = None,
    age_s: int = 0,
    secret: str | None = None,
) -> dict[str, str]:
    """Headers the provider would send for ``body`` (``age_s`` back-dates Stripe's timestamp)."""
    env = stack.payment_env()
    headers = {"content-type": "application/json"}
    if provider == "stripe":
        key = secret or env["ZENOPS_STRIPE_WEBHOOK_SECRET"]
        t = int(time.time()) - age_s
        mac = hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        headers["stripe-signature"] = f"t={t},v1={mac}"
    else:
        key = secret or env["ZENOPS_RAZORPAY_WEBHOOK_SECRET"]
        headers["x-razorpay-signature"] = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        headers["x-razorpay-event-id"] = event_id or f"evt_{uuid.uuid4().hex}"
    return headers


def paid_event(provider: str, provider_order_id: str, *, failed: bool = False) -> bytes:
    """A provider event about one order (as the simulator would send it)."""
    if provider == "stripe":
        event: dict[str, Any] = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "checkout.session.async_payment_failed" if failed else "checkout.session.completed",
            "data": {"object": {"id": provider_order_id, "payment_intent": f"pi_{uuid.uuid4().hex[:20]}"}},
        }
    else:
        status = "failed" if failed else "captured"
        event = {
            "event": f"payment.{status}",
            "payload": {
                "payment": {
                    "entity": {
                        "id": f"pay_{uuid.uuid4().hex[:14]}",
                        "order_id": provider_order_id,
                        "status": status,
                    }
                }
            },
        }
    return json.dumps(event).encode()


async def stored_events(db: asyncpg.Connection, provider: str, payload_hash: str) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM billing.payment_events WHERE provider = $1 AND payload_hash = $2",
            provider,
            payload_hash,
        )
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_topup_paid_through_the_simulator_grants_once_however_often_delivered(
    stack: StackInfo,
    provider: str,
    finance: httpx.AsyncClient,
    studio: httpx.AsyncClient,
    sim: httpx.AsyncClient,
    gateway: httpx.AsyncClient,
    account: str,
) -> None:
    order = await topup(finance, account, provider)
    assert (order["amount"], order["currency"], order["purpose"], order["credits_amount"]) == (
        10,
        "INR",
        "TOPUP",
        10,
    )
    paid = await sim_pay(sim, provider, order)
    first = paid["delivery"]
    assert first["status"] == 200, first
    assert first["body"]["ok"] is True
    assert first["body"]["processed"] is True
    # the provider redelivers the very same event (same body, same event id): a no-op
    again = await sim.post(
        "/_sim/deliver", json={"provider": provider, "event": paid["event"], "event_id": first["event_id"]}
    )
    assert again.status_code == 200, again.text
    assert again.json()["body"]["duplicate"] is True
    assert await wallet(studio, account) == 10
    listed = await studio.get("/v1/control/payments/orders", params={"account_id": account})
    assert [o["status"] for o in listed.json()] == ["PAID"]
    events = await studio.get("/v1/control/payments/events", params={"account_id": account})
    assert len(events.json()) == 1
    del stack, gateway


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_forged_stale_and_unsigned_deliveries_are_401_and_store_nothing(
    stack: StackInfo,
    provider: str,
    finance: httpx.AsyncClient,
    studio: httpx.AsyncClient,
    account: str,
    admin_db: asyncpg.Connection,
) -> None:
    order = await topup(finance, account, provider)
    body = paid_event(provider, order["provider_order_id"])
    digest = hashlib.sha256(body).hexdigest()
    url = f"{stack.urls['gateway']}/v1/payments/webhooks/{provider}"
    async with httpx.AsyncClient(timeout=30) as client:
        forged = await client.post(
            url, content=body, headers=signed(stack, provider, body, secret="not-the-secret")
        )
        assert (forged.status_code, forged.json()["code"]) == (401, "WEBHOOK_SIGNATURE_INVALID")
        altered = await client.post(url, content=body + b" ", headers=signed(stack, provider, body))
        assert (altered.status_code, altered.json()["code"]) == (401, "WEBHOOK_SIGNATURE_INVALID")
        unsigned = await client.post(url, content=body, headers={"content-type": "application/json"})
        missing = "MISSING_STRIPE_SIGNATURE" if provider == "stripe" else "MISSING_RAZORPAY_SIGNATURE"
        assert (unsigned.status_code, unsigned.json()["code"]) == (401, missing)
        if provider == "stripe":
            stale = await client.post(url, content=body, headers=signed(stack, provider, body, age_s=301))
            assert (stale.status_code, stale.json()["code"]) == (401, "WEBHOOK_SIGNATURE_INVALID")
    assert await stored_events(admin_db, provider, digest) == 0
    assert await wallet(studio, account) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_failed_after_paid_never_undoes_the_settlement(
    stack: StackInfo,
    provider: str,
    finance: httpx.AsyncClient,
    studio: httpx.AsyncClient,
    sim: httpx.AsyncClient,
    account: str,
) -> None:
    order = await topup(finance, account, provider)
    await sim_pay(sim, provider, order)
    late = paid_event(provider, order["provider_order_id"], failed=True)
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(
            f"{stack.urls['gateway']}/v1/payments/webhooks/{provider}",
            content=late,
            headers=signed(stack, provider, late),
        )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["duplicate"], resp.json()["status"]) == (False, "PAID")
    listed = await studio.get("/v1/control/payments/orders", params={"account_id": account})
    assert [o["status"] for o in listed.json()] == ["PAID"]
    assert await wallet(studio, account) == 10


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_20_concurrent_deliveries_of_one_event_grant_once(
    stack: StackInfo, provider: str, finance: httpx.AsyncClient, studio: httpx.AsyncClient, account: str
) -> None:
    order = await topup(finance, account, provider, credits=7)
    body = paid_event(provider, order["provider_order_id"])
    headers = signed(stack, provider, body)  # one event: one id, one signature, delivered 20 times at once
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=stack.urls["billing"], timeout=60, limits=limits) as direct:
        responses = await asyncio.gather(
            *(
                direct.post(f"/v1/payments/webhooks/{provider}", content=body, headers=headers)
                for _ in range(20)
            )
        )
    assert [r.status_code for r in responses] == [200] * 20, [
        r.text for r in responses if r.status_code != 200
    ]
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 19
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert await wallet(studio, account) == 7


async def test_the_janitor_settles_an_order_whose_webhook_never_came(
    finance: httpx.AsyncClient, studio: httpx.AsyncClient, sim: httpx.AsyncClient, account: str
) -> None:
    order = await topup(finance, account, "stripe", credits=3)
    await sim_pay(sim, "stripe", order, deliver=False)  # paid at the provider; the webhook is lost

    async def settled() -> bool:
        listed = await studio.get("/v1/control/payments/orders", params={"account_id": account})
        return [o["status"] for o in listed.json()] == ["PAID"]

    await eventually(settled, "the janitor to settle the order", within_s=90, every_s=0.5)
    assert await wallet(studio, account) == 3
    events = await studio.get("/v1/control/payments/events", params={"account_id": account})
    assert [e["event_id"] for e in events.json()] == [f"janitor:{order['id']}:paid"]


async def test_an_invoice_paid_through_a_checkout_link_becomes_paid(
    finance: httpx.AsyncClient, sim: httpx.AsyncClient, account: str
) -> None:
    made = await finance.post(
        "/v1/service-invoices",
        json={
            "account_id": account,
            "items": [{"description": "Valuation", "quantity": 1, "unit_price": 1500}],
        },
    )
    assert made.status_code == 201, made.text
    invoice_id = made.json()["id"]
    issued = await finance.post(f"/v1/service-invoices/{invoice_id}/issue")
    assert issued.status_code == 201, issued.text
    link = await finance.post(
        "/v1/payments/checkout-link",
        json={
            "account_id": account,
            "amount": 1500,
            "purpose": "invoice",
            "provider": "razorpay",
            "service_invoice_id": invoice_id,
            "idempotency_key": f"inv-{invoice_id}",
        },
    )
    assert link.status_code == 201, link.text
    order = link.json()
    assert (order["service_invoice_id"], order["service_invoice_status"]) == (invoice_id, "ISSUED")
    assert "order_id=" in order["checkout_url"]
    paid = await sim_pay(sim, "razorpay", order)
    assert paid["delivery"]["status"] == 200, paid
    invoice = (await finance.get(f"/v1/service-invoices/{invoice_id}")).json()
    assert (invoice["status"], invoice["amount_due"]) == ("PAID", 0)
    (payment,) = invoice["payments"]
    assert (payment["mode"], payment["notes"]) == ("razorpay", "Settled by RAZORPAY webhook")


async def test_the_simulator_refuses_what_the_provider_refuses(
    stack: StackInfo, sim: httpx.AsyncClient
) -> None:
    env = stack.payment_env()
    async with httpx.AsyncClient(base_url=stack.provider_sim_url or "", timeout=30) as api:
        no_auth = await api.post("/v1/orders", json={"amount": 1000, "currency": "INR"})
        assert no_auth.status_code == 401
        assert no_auth.json()["error"]["description"] == "Authentication failed"
        auth = (env["ZENOPS_RAZORPAY_KEY_ID"], env["ZENOPS_RAZORPAY_KEY_SECRET"])
        fractional = await api.post("/v1/orders", json={"amount": 10.5, "currency": "INR"}, auth=auth)
        assert (fractional.status_code, fractional.json()["error"]["field"]) == (400, "amount")
        bearer = {"authorization": f"Bearer {env['ZENOPS_STRIPE_SECRET_KEY']}"}
        no_amount = await api.post("/v1/checkout/sessions", data={"mode": "payment"}, headers=bearer)
        assert no_amount.status_code == 400
        assert no_amount.json()["error"]["type"] == "invalid_request_error"
    refused = (await sim.get("/_sim/requests")).json()["refused"]
    assert {r["status"] for r in refused} >= {400, 401}


async def test_payments_write_is_refused_with_401_and_nothing_is_stored(
    stack: StackInfo, tenant: str, account: str, studio: httpx.AsyncClient
) -> None:
    token = make_token(stack, tenant_id=tenant, roles=(), capabilities=("masterdata.read",), aud="studio")
    async with httpx.AsyncClient(
        base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {token}"}
    ) as c:
        resp = await c.post(
            "/v1/payments/topup",
            json={"account_id": account, "credits_amount": 1, "provider": "stripe", "idempotency_key": "k"},
        )
    assert (resp.status_code, resp.json()["code"]) == (401, "PAYMENTS_WRITE_FORBIDDEN")
    listed = await studio.get("/v1/control/payments/orders", params={"account_id": account})
    assert listed.json() == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_event_for_an_unknown_order_is_stored_and_reported_pay_08(
    stack: StackInfo, provider: str, admin_db: asyncpg.Connection
) -> None:
    body = paid_event(provider, f"unknown_{uuid.uuid4().hex[:12]}")
    headers = signed(stack, provider, body)
    url = f"{stack.urls['gateway']}/v1/payments/webhooks/{provider}"
    async with httpx.AsyncClient(timeout=30) as client:
        first = await client.post(url, content=body, headers=headers)
        again = await client.post(url, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["duplicate"], first.json()["processed"]) == (False, False)
    assert (again.json()["duplicate"], again.json()["event_id"]) == (True, first.json()["event_id"])
    row = await admin_db.fetchrow(
        "SELECT tenant_id, payment_order_id, processed_at FROM billing.payment_events WHERE id = $1",
        uuid.UUID(first.json()["event_id"]),
    )
    assert row is not None
    assert (row["tenant_id"], row["payment_order_id"], row["processed_at"]) == (None, None, None)


async def test_an_oversized_delivery_is_413_before_anything_is_read(stack: StackInfo) -> None:
    body = b'{"pad": "' + b"x" * (300 * 1024) + b'"}'
    async with httpx.AsyncClient(base_url=stack.urls["billing"], timeout=30) as direct:
        resp = await direct.post(
            "/v1/payments/webhooks/stripe", content=body, headers=signed(stack, "stripe", body)
        )
    assert (resp.status_code, resp.json()["code"]) == (413, "WEBHOOK_BODY_TOO_LARGE")


PAYMENT_TABLES = ("payment_customers", "payment_orders", "payment_events", "invoice_payment_links")


async def test_another_tenant_neither_reads_nor_changes_the_payment_rows(
    stack: StackInfo, finance: httpx.AsyncClient, account: str, tenant: str
) -> None:
    """As billing's app role (RLS): the order's own tenant sees and may change it, another sees nothing
    and changes nothing; every payment table has RLS on. Each probe is rolled back."""
    order = await topup(finance, account, "stripe")
    dsn = stack.dsns["billing"]["app"].replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        for who, expected in ((str(uuid.uuid4()), 0), (tenant, 1)):
            probe = conn.transaction()
            await probe.start()
            await conn.execute(
                "SELECT set_config('app.tenant_id', $1, true), set_config('app.aud', 'web', true)", who
            )
            seen = await conn.fetchval(
                "SELECT count(*) FROM billing.payment_orders WHERE id = $1", uuid.UUID(order["id"])
            )
            customers = await conn.fetchval(
                "SELECT count(*) FROM billing.payment_customers WHERE account_id = $1", uuid.UUID(account)
            )
            updated = await conn.execute(
                "UPDATE billing.payment_orders SET checkout_url = 'https://evil.test' WHERE id = $1",
                uuid.UUID(order["id"]),
            )
            await probe.rollback()
            assert (seen, customers, updated) == (expected, expected, f"UPDATE {expected}"), who
        rls_off = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'billing' AND c.relname = ANY($1::text[]) AND NOT c.relrowsecurity",
            list(PAYMENT_TABLES),
        )
    finally:
        await conn.close()
    assert rls_off == []
