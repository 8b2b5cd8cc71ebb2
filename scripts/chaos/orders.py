"""One work order's life through the gateway, as a client that retries would drive it.

Create → contract → evidence → EVIDENCE_PENDING → DATA_PENDING (billing's acceptance) →
READY_FOR_RENDER → the rendered pack → (POSTPAID paid: issue and pay the acceptance invoice) → release
through the billing gate. Every write carries its own idempotency key, derived from the order, so a
retry after a lost answer replays the first attempt instead of doing it again. A status change or a
release answered 202 (the saga has not settled within the wait) is asked again with the same key.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.testing.data import DEMO_CONTRACT_PATCH, WORK_ORDERS, sbi_evidence_set, work_order_body
from scripts.chaos.client import RetryingClient

__all__ = ["EXPECTED_GATE", "Order", "OrderFailed", "Plan", "drive"]

INVOICES = "/v1/service-invoices"


class Plan(enum.StrEnum):
    """How the order is billed and released."""

    CREDIT = "CREDIT"
    """a CREDIT account's work order: acceptance reserves a credit, the release consumes it"""
    POSTPAID_PAID = "POSTPAID_PAID"
    """the tenant's POSTPAID account: the acceptance invoice is issued and paid, then released"""
    POSTPAID_OVERRIDE = "POSTPAID_OVERRIDE"
    """the tenant's POSTPAID account: released unpaid with an operator override and its reason"""


#: the billing gate's result each plan must end with
EXPECTED_GATE: dict[Plan, str] = {
    Plan.CREDIT: "CREDIT_CONSUMED",
    Plan.POSTPAID_PAID: "PAID",
    Plan.POSTPAID_OVERRIDE: "OVERRIDE",
}


class OrderFailed(RuntimeError):
    """The server answered something final the flow did not expect (a 404 is one: the client gives up)."""

    def __init__(self, step: str, response: httpx.Response) -> None:
        super().__init__(f"{step}: {response.status_code} {response.text[:300]}")
        self.status_code = response.status_code


@dataclass
class Order:
    """One work order of the run: its plan, its keys' prefix and what happened to it."""

    index: int
    plan: Plan
    key_prefix: str
    account_key: str | None = None
    work_order_id: str | None = None
    step: str = "queued"
    release_result: str | None = None
    error: str | None = None
    gave_up_on_404: bool = False
    started_at: float = 0.0
    seconds: float = 0.0
    steps_done: list[str] = field(default_factory=list)
    #: the latest consistency token per aggregate (``x-zenops-version`` of the answers), sent back in
    #: ``x-zenops-after`` as the protocol asks (architecture §4), so a gateway that lost its memory of
    #: them in a restart cannot turn "not projected yet" into a 404
    tokens: dict[str, str] = field(default_factory=dict)

    def key(self, step: str) -> str:
        """The idempotency key of one step (the same on every retry of that step)."""
        return f"{self.key_prefix}:{self.index}:{step}"


async def _send(client: RetryingClient, order: Order, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request of ``order`` with its consistency tokens; remembers the tokens the answer carries."""
    headers = dict(kwargs.pop("headers", None) or {})
    if order.tokens:
        headers["x-zenops-after"] = ",".join(order.tokens.values())
    response = await client.request(method, url, headers=headers, **kwargs)
    for token in response.headers.get("x-zenops-version", "").split(","):
        parts = token.strip().rsplit(":", 1)
        if len(parts) == 2 and parts[1].isdigit():
            known = order.tokens.get(parts[0])
            if known is None or int(known.rsplit(":", 1)[1]) < int(parts[1]):
                order.tokens[parts[0]] = token.strip()
    return response


def _ok(step: str, response: httpx.Response, *codes: int) -> dict[str, Any]:
    if response.status_code not in codes:
        raise OrderFailed(step, response)
    body: dict[str, Any] = response.json() if response.content else {}
    return body


async def _settled(
    client: RetryingClient,
    order: Order,
    step: str,
    url: str,
    body: dict[str, Any],
    key: str | None,
    *,
    every_s: float,
) -> dict[str, Any]:
    """POST until the answer is settled (not 202), always with the same body and key."""
    headers = {"Idempotency-Key": key} if key else {}
    while True:
        response = await _send(client, order, "POST", url, json=body, headers=headers)
        if response.status_code != 202:
            return _ok(step, response, 201)
        await asyncio.sleep(every_s)


async def _poll(
    client: RetryingClient, order: Order, step: str, url: str, ready: Any, *, within_s: float, every_s: float
) -> dict[str, Any]:
    """GET ``url`` until ``ready(body)`` is true; a 404 means "not projected yet" while polling."""
    deadline = time.monotonic() + within_s
    while True:
        response = await _send(client, order, "GET", url)
        if response.status_code not in (200, 404):
            raise OrderFailed(step, response)
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            if ready(body):
                return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"{step}: not ready within {within_s:.0f} s (last {response.status_code})")
        await asyncio.sleep(every_s)


async def drive(client: RetryingClient, order: Order, *, within_s: float = 600.0) -> None:
    """Take ``order`` from creation to its release; its fields say how far it got and why it stopped."""
    order.started_at = time.monotonic()
    try:
        await _drive(client, order, within_s=within_s)
        order.step = "released"
    except OrderFailed as failed:
        order.error = str(failed)
        order.gave_up_on_404 = failed.status_code == 404
    except Exception as exc:
        order.error = f"{order.step}: {type(exc).__name__}: {exc}"
    finally:
        order.seconds = time.monotonic() - order.started_at


def _step(order: Order, name: str) -> None:
    if order.step != "queued":
        order.steps_done.append(order.step)
    order.step = name


async def _drive(client: RetryingClient, order: Order, *, within_s: float) -> None:
    _step(order, "create")
    fields = {"billing_external_key": order.account_key} if order.account_key else {}
    created = _ok(
        "create",
        await _send(
            client,
            order,
            "POST",
            WORK_ORDERS,
            json=work_order_body(**fields),
            headers={"Idempotency-Key": order.key("create")},
        ),
        201,
    )
    wo = order.work_order_id = str(created["work_order_id"])
    base = f"{WORK_ORDERS}/{wo}"

    _step(order, "contract")
    contract = await _send(
        client,
        order,
        "PATCH",
        f"{base}/contract",
        json=DEMO_CONTRACT_PATCH,
        headers={"Idempotency-Key": order.key("contract")},
    )
    _ok("contract", contract, 200)

    _step(order, "evidence")
    linked = await _send(
        client,
        order,
        "POST",
        f"{base}/evidence/link",
        json={"items": sbi_evidence_set()},
        headers={"Idempotency-Key": order.key("evidence")},
    )
    _ok("evidence", linked, 201)

    for status in ("EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER"):
        _step(order, status)
        await _settled(
            client,
            order,
            status,
            f"{base}/status",
            {"status": status},
            order.key(status.lower()),
            every_s=1.0,
        )

    _step(order, "pack")
    await _poll(
        client,
        order,
        "pack",
        f"{base}/pack",
        lambda view: _job_status(view) == "completed",
        within_s=within_s,
        every_s=1.0,
    )

    if order.plan is Plan.POSTPAID_PAID:
        _step(order, "invoice")
        billing = await _poll(
            client,
            order,
            "invoice",
            f"/v1/billing/work-orders/{wo}",
            lambda body: bool((body.get("work_order_billing") or {}).get("invoice")),
            within_s=within_s,
            every_s=1.0,
        )
        invoice_id = billing["work_order_billing"]["invoice"]["id"]
        issued = _ok(
            "issue",
            await _send(
                client,
                order,
                "POST",
                f"{INVOICES}/{invoice_id}/issue",
                headers={"Idempotency-Key": order.key("issue")},
            ),
            201,
        )
        _step(order, "pay")
        payment = {"amount": issued["amount_due"], "reference": f"chaos-{order.key('pay')}"}
        paid = _ok(
            "pay",
            await _send(
                client,
                order,
                "POST",
                f"{INVOICES}/{invoice_id}/payments",
                json=payment,
                headers={"Idempotency-Key": order.key("pay")},
            ),
            201,
        )
        if not paid.get("is_paid"):
            raise RuntimeError(f"pay: invoice {invoice_id} not paid after paying its amount due: {paid}")

    _step(order, "release")
    body: dict[str, Any] = {"idempotency_key": order.key("release")}
    if order.plan is Plan.POSTPAID_OVERRIDE:
        body |= {"override": True, "override_reason": "chaos run: released unpaid by an operator"}
    released = await _settled(
        client, order, "release", f"{base}/release-deliverables", body, None, every_s=1.0
    )
    order.release_result = (released.get("release") or {}).get("billing_gate_result")


def _job_status(view: dict[str, Any]) -> str | None:
    status = (view.get("generation_job") or {}).get("status")
    if status in {"failed", "cancelled"}:
        raise RuntimeError(f"pack generation {status}")
    return str(status) if status else None
