"""A local payment provider simulator for the dev stack: Stripe's and Razorpay's HTTP API shapes on one
loopback port, so billing's real adapters run end to end without the internet (issue 16 item 3).

It checks each request the way the real API does and refuses, with that provider's own error body, what
the real API refuses: authentication (Stripe's bearer secret key, Razorpay's basic ``key_id:key_secret``),
the content type (Stripe form-encoded, Razorpay JSON), required fields, integer minor units in range,
currency codes, receipt and notes/metadata limits. It can then "pay" (or fail, or expire) an order and
deliver the provider's webhook to billing through the gateway, SIGNED as the provider signs it (Stripe
``stripe-signature: t=…,v1=…`` over ``<t>.<body>``; Razorpay ``x-razorpay-signature`` hex HMAC of the body
plus ``x-razorpay-event-id``). State lives in memory: a restart forgets its orders (billing's janitor then
gets 404s for them, which it reports and retries).

Control routes (not part of any provider API) under ``/_sim``: ``POST /_sim/pay`` settles an order and
delivers its webhook; ``POST /_sim/deliver`` signs and delivers any event (subscription events, replays);
``GET /_sim/requests`` lists what the simulator refused, for tests that prove a refusal.

Run: ``python -m devstack.provider_sim run --port N`` (the launcher does, in dev only). Environment:
``ZENOPS_STRIPE_SECRET_KEY``, ``ZENOPS_RAZORPAY_KEY_ID``, ``ZENOPS_RAZORPAY_KEY_SECRET``,
``ZENOPS_STRIPE_WEBHOOK_SECRET``, ``ZENOPS_RAZORPAY_WEBHOOK_SECRET`` and ``ZENOPS_PROVIDER_SIM_WEBHOOK_BASE``
(where webhooks go: the gateway).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

#: ISO 4217 codes both providers accept here (the real lists are longer; these are the ones billing sends)
CURRENCIES = frozenset({"inr", "usd", "eur", "gbp", "aed", "sgd", "aud", "cad"})
STRIPE_MAX_AMOUNT = 99_999_999
STRIPE_METADATA_KEYS = 50
STRIPE_METADATA_KEY_LEN = 40
STRIPE_METADATA_VALUE_LEN = 500
RAZORPAY_MIN_AMOUNT = 100
RAZORPAY_RECEIPT_LEN = 40
RAZORPAY_NOTES = 15
RAZORPAY_NOTE_LEN = 256
_INT_RE = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class SimConfig:
    """Keys the simulated providers accept and sign with, and where webhooks go."""

    stripe_secret_key: str
    razorpay_key_id: str
    razorpay_key_secret: str
    stripe_webhook_secret: str
    razorpay_webhook_secret: str
    webhook_base: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SimConfig:
        """From the ``ZENOPS_*`` variables the launcher sets."""
        e = os.environ if env is None else env
        return cls(
            e.get("ZENOPS_STRIPE_SECRET_KEY", ""),
            e.get("ZENOPS_RAZORPAY_KEY_ID", ""),
            e.get("ZENOPS_RAZORPAY_KEY_SECRET", ""),
            e.get("ZENOPS_STRIPE_WEBHOOK_SECRET", ""),
            e.get("ZENOPS_RAZORPAY_WEBHOOK_SECRET", ""),
            e.get("ZENOPS_PROVIDER_SIM_WEBHOOK_BASE", ""),
        )


@dataclass
class SimState:
    """Customers, sessions/orders and idempotency keys in memory; the refusals, for tests."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)


class Refused(Exception):
    """A request the real API refuses: the provider's status and error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body


def _hex(n: int) -> str:
    return secrets.token_hex(n)


def _alnum(n: int) -> str:
    return base64.b32encode(secrets.token_bytes(n)).decode().rstrip("=")[:n]


def sign_stripe(secret: str, body: bytes, at: int | None = None) -> str:
    """``stripe-signature`` for ``body``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def sign_razorpay(secret: str, body: bytes) -> str:
    """``x-razorpay-signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- Stripe -------------------------------------------------------------------------------------------------


def _stripe_error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> Refused:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return Refused(status, {"error": error})


def _stripe_auth(request: Request, config: SimConfig) -> None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not config.stripe_secret_key:
        raise _stripe_error(401, "You did not provide an API key.")
    if not hmac.compare_digest(auth[7:].encode(), config.stripe_secret_key.encode()):
        raise _stripe_error(401, "Invalid API Key provided.", code="api_key_invalid")


async def _stripe_form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise _stripe_error(400, "Invalid request: the body must be application/x-www-form-urlencoded.")
    pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)


def _stripe_int(form: dict[str, str], name: str, *, low: int, high: int) -> int:
    raw = form.get(name)
    if raw is None:
        raise _stripe_error(400, f"Missing required param: {name}.", param=name, code="parameter_missing")
    if not _INT_RE.match(raw):
        raise _stripe_error(400, f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer")
    value = int(raw)
    if not low <= value <= high:
        raise _stripe_error(
            400, f"{name} must be between {low} and {high}.", param=name, code="parameter_invalid_integer"
        )
    return value


def _stripe_metadata(form: dict[str, str], prefix: str) -> dict[str, str]:
    meta = {
        k[len(prefix) + 1 : -1]: v for k, v in form.items() if k.startswith(f"{prefix}[") and k.endswith("]")
    }
    if len(meta) > STRIPE_METADATA_KEYS:
        raise _stripe_error(400, "Invalid metadata: at most 50 keys.", param=prefix)
    for key, value in meta.items():
        if len(key) > STRIPE_METADATA_KEY_LEN or len(value) > STRIPE_METADATA_VALUE_LEN:
            raise _stripe_error(400, f"Invalid metadata key or value: {key}", param=f"{prefix}[{key}]")
    return meta


def stripe_session(form: dict[str, str], base_url: str) -> dict[str, Any]:
    """Validate a ``POST /v1/checkout/sessions`` form and build the session Stripe would answer."""
    if form.get("mode") != "payment":
        raise _stripe_error(400, "Missing required param: mode.", param="mode", code="parameter_missing")
    for name in ("success_url", "cancel_url"):
        url = form.get(name, "")
        if not url.startswith(("http://", "https://")):
            raise _stripe_error(400, f"Not a valid URL: {name}", param=name, code="url_invalid")
    li = "line_items[0]"
    currency = form.get(f"{li}[price_data][currency]", "")
    if currency not in CURRENCIES:
        raise _stripe_error(400, f"Invalid currency: {currency}.", param=f"{li}[price_data][currency]")
    amount = _stripe_int(form, f"{li}[price_data][unit_amount]", low=1, high=STRIPE_MAX_AMOUNT)
    quantity = _stripe_int(form, f"{li}[quantity]", low=1, high=999_999)
    name = form.get(f"{li}[price_data][product_data][name]", "")
    if not name:
        raise _stripe_error(
            400, "Missing required param: product_data[name].", param=f"{li}[price_data][product_data][name]"
        )
    metadata = _stripe_metadata(form, "metadata")
    _stripe_metadata(form, "payment_intent_data[metadata]")
    sid = f"cs_test_{_alnum(24)}"
    return {
        "id": sid,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": amount * quantity,
        "currency": currency,
        "customer": form.get("customer"),
        "client_reference_id": form.get("client_reference_id"),
        "metadata": metadata,
        "payment_intent": None,
        "success_url": form["success_url"],
        "cancel_url": form["cancel_url"],
        "url": f"{base_url}/c/pay/{sid}",
        "created": int(time.time()),
        "expires_at": int(time.time()) + 86_400,
    }


# --- Razorpay -----------------------------------------------------------------------------------------------


def _rzp_error(status: int, description: str, field_name: str | None = None) -> Refused:
    return Refused(
        status,
        {
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": description,
                "source": "business" if status == 400 else "NA",
                "step": "payment_initiation" if status == 400 else "NA",
                "reason": "input_validation_failed" if status == 400 else "NA",
                "metadata": {},
                "field": field_name,
            }
        },
    )


def _rzp_auth(request: Request, config: SimConfig) -> None:
    auth = request.headers.get("authorization", "")
    expected = (
        "Basic "
        + base64.b64encode(f"{config.razorpay_key_id}:{config.razorpay_key_secret}".encode()).decode()
    )
    if not config.razorpay_key_id or not hmac.compare_digest(auth.encode(), expected.encode()):
        raise _rzp_error(401, "Authentication failed")


async def _rzp_json(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise _rzp_error(400, "The request body must be JSON")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise _rzp_error(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _rzp_error(400, "The request body must be a JSON object")
    return body


def _rzp_notes(notes: object) -> dict[str, str]:
    if notes is None:
        return {}
    if not isinstance(notes, dict) or len(notes) > RAZORPAY_NOTES:
        raise _rzp_error(400, "notes must be an object of at most 15 entries", "notes")
    for key, value in notes.items():
        if not isinstance(value, str | int) or len(str(value)) > RAZORPAY_NOTE_LEN:
            raise _rzp_error(400, f"notes.{key} must be at most 256 characters", "notes")
    return {str(k): str(v) for k, v in notes.items()}


def razorpay_order(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a ``POST /v1/orders`` JSON body and build the order Razorpay would answer."""
    amount = body.get("amount")
    if amount is None:
        raise _rzp_error(400, "The amount field is required.", "amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _rzp_error(400, "The amount must be an integer.", "amount")
    if amount < RAZORPAY_MIN_AMOUNT:
        raise _rzp_error(400, "Order amount less than minimum amount allowed", "amount")
    currency = body.get("currency")
    if not isinstance(currency, str) or currency.lower() not in CURRENCIES or currency != currency.upper():
        raise _rzp_error(400, "The currency field is invalid.", "currency")
    receipt = body.get("receipt")
    if receipt is not None and (not isinstance(receipt, str) or len(receipt) > RAZORPAY_RECEIPT_LEN):
        raise _rzp_error(400, "The receipt may not be greater than 40 characters.", "receipt")
    return {
        "id": f"order_{_alnum(14)}",
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": receipt,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": _rzp_notes(body.get("notes")),
        "created_at": int(time.time()),
    }


# --- the app ------------------------------------------------------------------------------------------------


def create_app(config: SimConfig | None = None, *, base_url: str = "http://127.0.0.1") -> FastAPI:
    """The simulator's app (``config`` defaults to the environment's)."""
    cfg = config or SimConfig.from_env()
    state = SimState()
    app = FastAPI(title="ZenOps payment provider simulator (dev only)")
    app.state.sim = state

    def refusal(request: Request, exc: Refused) -> JSONResponse:
        state.refused.append({"path": request.url.path, "status": exc.status, "body": exc.body})
        del state.refused[:-200]
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> JSONResponse:
        return refusal(request, exc)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Stripe
    @app.post("/v1/customers")
    async def customers(request: Request) -> JSONResponse:
        if request.headers.get("authorization", "").startswith("Basic "):
            _rzp_auth(request, cfg)
            body = await _rzp_json(request)
            name = body.get("name")
            if name is not None and (not isinstance(name, str) or len(name) > 50):
                raise _rzp_error(400, "The name may not be greater than 50 characters.", "name")
            customer = {
                "id": f"cust_{_alnum(14)}",
                "entity": "customer",
                "name": name,
                "notes": _rzp_notes(body.get("notes")),
            }
        else:
            _stripe_auth(request, cfg)
            form = await _stripe_form(request)
            customer = {
                "id": f"cus_{_alnum(14)}",
                "object": "customer",
                "name": form.get("name"),
                "metadata": _stripe_metadata(form, "metadata"),
            }
        key = request.headers.get("idempotency-key")
        customer_id = str(customer["id"])
        if key and f"customer:{key}" in state.idempotency:
            return JSONResponse(state.customers[state.idempotency[f"customer:{key}"]])
        state.customers[customer_id] = customer
        if key:
            state.idempotency[f"customer:{key}"] = customer_id
        return JSONResponse(customer)

    @app.post("/v1/checkout/sessions")
    async def create_session(request: Request) -> JSONResponse:
        _stripe_auth(request, cfg)
        form = await _stripe_form(request)
        key = request.headers.get("idempotency-key")
        if key and f"session:{key}" in state.idempotency:
            return JSONResponse(state.sessions[state.idempotency[f"session:{key}"]])
        session = stripe_session(form, str(request.base_url).rstrip("/"))
        state.sessions[session["id"]] = session
        if key:
            state.idempotency[f"session:{key}"] = session["id"]
        return JSONResponse(session)

    @app.get("/v1/checkout/sessions/{session_id}")
    async def get_session(session_id: str, request: Request) -> JSONResponse:
        _stripe_auth(request, cfg)
        session = state.sessions.get(session_id)
        if session is None:
            raise _stripe_error(
                404, f"No such checkout.session: '{session_id}'", param="id", code="resource_missing"
            )
        return JSONResponse(session)

    # Razorpay
    @app.post("/v1/orders")
    async def create_order(request: Request) -> JSONResponse:
        _rzp_auth(request, cfg)
        order = razorpay_order(await _rzp_json(request))
        state.orders[order["id"]] = order
        return JSONResponse(order)

    @app.get("/v1/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> JSONResponse:
        _rzp_auth(request, cfg)
        order = state.orders.get(order_id)
        if order is None:
            raise _rzp_error(400, "The id provided does not exist", "id")
        return JSONResponse(order)

    @app.get("/v1/orders/{order_id}/payments")
    async def order_payments(order_id: str, request: Request) -> JSONResponse:
        _rzp_auth(request, cfg)
        if order_id not in state.orders:
            raise _rzp_error(400, "The id provided does not exist", "id")
        items = state.payments.get(order_id, [])
        return JSONResponse({"entity": "collection", "count": len(items), "items": items})

    # control
    @app.post("/_sim/pay")
    async def pay(request: Request) -> JSONResponse:
        body = await request.json()
        provider, order_id = body.get("provider"), body.get("order_id")
        outcome = body.get("outcome", "paid")
        event = _settle(state, provider, order_id, outcome)
        if event is None:
            return JSONResponse({"error": f"unknown {provider} order {order_id}"}, status_code=404)
        delivery = (
            await _deliver(cfg, provider, event, "/v1/payments/webhooks")
            if body.get("deliver", True)
            else None
        )
        return JSONResponse({"event": event, "delivery": delivery})

    @app.post("/_sim/deliver")
    async def deliver(request: Request) -> JSONResponse:
        body = await request.json()
        path = body.get("path", "/v1/payments/webhooks")
        return JSONResponse(await _deliver(cfg, body["provider"], body["event"], path, body.get("event_id")))

    @app.get("/_sim/requests")
    async def refused() -> JSONResponse:
        return JSONResponse({"refused": state.refused})

    del base_url
    return app


def _settle(state: SimState, provider: str, order_id: str, outcome: str) -> dict[str, Any] | None:
    """Mark the order as ``outcome`` (paid/failed/expired) and build the event the provider sends."""
    now = int(time.time())
    if provider == "stripe":
        session = state.sessions.get(order_id)
        if session is None:
            return None
        if outcome == "paid":
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=session["payment_intent"] or f"pi_{_alnum(24)}",
            )
            event_type = "checkout.session.completed"
        elif outcome == "expired":
            session.update(status="expired")
            event_type = "checkout.session.expired"
        else:
            event_type = "checkout.session.async_payment_failed"
        return {
            "id": f"evt_{_alnum(24)}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": now,
            "type": event_type,
            "livemode": False,
            "data": {"object": dict(session)},
        }
    order = state.orders.get(order_id)
    if order is None:
        return None
    status = "captured" if outcome == "paid" else "failed"
    payment = {
        "id": f"pay_{_alnum(14)}",
        "entity": "payment",
        "amount": order["amount"],
        "currency": order["currency"],
        "status": status,
        "order_id": order_id,
        "notes": order["notes"],
        "created_at": now,
    }
    state.payments.setdefault(order_id, []).append(payment)
    if outcome == "paid":
        order.update(status="paid", amount_paid=order["amount"], amount_due=0, attempts=order["attempts"] + 1)
    else:
        order.update(status="attempted", attempts=order["attempts"] + 1)
    return {
        "entity": "event",
        "account_id": "acc_sim",
        "event": f"payment.{status}",
        "contains": ["payment"],
        "payload": {"payment": {"entity": payment}},
        "created_at": now,
    }


async def _deliver(
    cfg: SimConfig, provider: str, event: dict[str, Any], path: str, event_id: str | None = None
) -> dict[str, Any]:
    """POST the event to ``<webhook base><path>/<provider>``, signed as the provider signs."""
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"content-type": "application/json"}
    if provider == "stripe":
        headers["stripe-signature"] = sign_stripe(cfg.stripe_webhook_secret, body)
    else:
        headers["x-razorpay-signature"] = sign_razorpay(cfg.razorpay_webhook_secret, body)
        headers["x-razorpay-event-id"] = event_id or f"evt_{_alnum(14)}"
    url = f"{cfg.webhook_base.rstrip('/')}{path}/{provider}"
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.post(url, content=body, headers=headers)
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text[:500]
    return {
        "status": response.status_code,
        "body": answer,
        "event_id": headers.get("x-razorpay-event-id", event.get("id")),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m devstack.provider_sim run --port N``."""
    parser = argparse.ArgumentParser(prog="python -m devstack.provider_sim")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the simulator on 127.0.0.1:PORT")
    run.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
