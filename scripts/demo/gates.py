"""The three ways a rendered work order is released through the billing gate (domain.md §6, seed 000
"Billing Gate Semantics"): a CREDIT release consuming its hold, a POSTPAID release first BLOCKED then
PAID once its invoice is settled (:mod:`scripts.demo.payment`), and an OVERRIDE with its reason."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.testing import flows
from devstack.testing.polling import eventually
from scripts.demo.flow import OVERRIDE_REASON, Produced
from scripts.demo.payment import pay_invoice
from scripts.demo.progress import Steps

Body = dict[str, Any]


@dataclass(frozen=True)
class Release:
    """One release request and the gate's answer."""

    result: str
    blocked: bool
    trace_id: str
    body: Body


@dataclass
class Released:
    """The releases of one work order, in order (the last one released it)."""

    releases: list[Release] = field(default_factory=list)
    billing: Body = field(default_factory=dict)
    payment: Body | None = None

    @property
    def outcomes(self) -> list[str]:
        return [r.result for r in self.releases]

    @property
    def last(self) -> Release:
        return self.releases[-1]


#: how long a release request waits for billing's decision (``?wait=``, the factory's maximum)
WAIT_MS = 30_000


async def _release(
    client: httpx.AsyncClient, steps: Steps, wo: str, *, override_reason: str | None = None
) -> Release:
    key = f"demo:repogen:release:{wo}:{uuid.uuid4().hex[:12]}"
    request: Body = {"idempotency_key": key}
    if override_reason is not None:
        request |= {"override": True, "override_reason": override_reason}
    url = f"/v1/repogen/work-orders/{wo}/release-deliverables"

    async def settled() -> tuple[Body, str] | None:
        # a retry with the same key is the same release: its answer once billing decided (202 before)
        resp = await client.post(url, json=request, params={"wait": WAIT_MS})
        answer = flows.expect(resp, 201, 202)
        return None if resp.status_code == 202 else (answer, resp.headers.get("x-trace-id", ""))

    body, trace_id = await eventually(settled, f"the gate's decision on {wo}", within_s=120, every_s=0.5)
    release = body["release"]
    steps.note(
        f"release {release['id']}: blocked={body['blocked']} gate={release['billing_gate_result']} "
        f"trace {trace_id}"
    )
    return Release(str(release["billing_gate_result"]), bool(body["blocked"]), trace_id, body)


def _expect(release: Release, result: str, *, blocked: bool) -> None:
    if (release.result, release.blocked) != (result, blocked):
        raise flows.FlowError(
            f"release answered {release.result} (blocked={release.blocked}); expected {result} "
            f"(blocked={blocked}): {release.body}"
        )


async def billing_state(client: httpx.AsyncClient, wo: str, what: str, check: Any) -> Body:
    """Billing's view of the work order (``GET /v1/billing/work-orders/:id``) once ``check`` holds."""

    async def seen() -> Body | None:
        resp = await client.get(f"/v1/billing/work-orders/{wo}")
        if resp.status_code != 200:
            return None
        state: Body = resp.json()["work_order_billing"]
        return state if check(state) else None

    return await eventually(seen, f"billing of {wo}: {what}", within_s=60, every_s=0.3)


async def release_with_credit(client: httpx.AsyncClient, steps: Steps, made: Produced) -> Released:
    """CREDIT: the release consumes the hold reserved at acceptance (``CREDIT_CONSUMED``)."""
    wo = made.work_order_id
    steps.step("release: the CREDIT hold is consumed")
    release = await _release(client, steps, wo)
    _expect(release, "CREDIT_CONSUMED", blocked=False)
    state = await billing_state(
        client, wo, "hold consumed", lambda s: (s.get("hold") or {}).get("status") == "consumed"
    )
    steps.note(f"hold {state['hold']['id']} consumed; last gate {state['last_gate']['result']}")
    return Released([release], state)


async def _paid_gate(client: httpx.AsyncClient, wo: str) -> Body | None:
    view = flows.expect(await client.get(f"/v1/repogen/work-orders/{wo}/pack"), 200)
    gate: Body = view["billing_gate_status"]
    return gate if gate.get("service_invoice_is_paid") and gate.get("releasable_without_override") else None


async def release_after_payment(
    client: httpx.AsyncClient, steps: Steps, made: Produced, *, provider_sim_url: str = ""
) -> Released:
    """POSTPAID: BLOCKED while the acceptance invoice is unpaid; PAID after it is issued and paid (at the
    provider simulator when the stack has one, see :mod:`scripts.demo.payment`)."""
    wo = made.work_order_id
    steps.step("release without paying: the gate blocks it")
    blocked = await _release(client, steps, wo)
    _expect(blocked, "BLOCKED", blocked=True)
    invoice_id = made.billing.get("service_invoice_id")
    if not invoice_id:
        state = await billing_state(client, wo, "acceptance invoice", lambda s: s.get("invoice"))
        invoice_id = state["invoice"]["id"]
    how = "through a Razorpay checkout at the provider simulator" if provider_sim_url else "by bank transfer"
    steps.step(f"issue invoice {invoice_id} and pay it {how}")
    payment = await pay_invoice(client, str(invoice_id), work_order_id=wo, provider_sim_url=provider_sim_url)
    steps.note(
        f"invoice {payment.get('invoice_number')} {payment['status']}: paid {payment.get('amount_paid')}, "
        f"due {payment.get('amount_due')}"
    )
    # the factory's gate view follows billing's events (the gateway's read-your-writes token usually
    # makes it immediate; under load it may lag a moment)
    gate = await eventually(
        lambda: _paid_gate(client, wo),
        f"the factory's gate view of {wo} to show the invoice paid",
        within_s=60,
    )
    steps.note(f"gate view: invoice {gate['service_invoice_status']}, releasable without override")
    steps.step("release again: the invoice is PAID")
    paid = await _release(client, steps, wo)
    _expect(paid, "PAID", blocked=False)
    state = await billing_state(
        client, wo, "gate PAID", lambda s: (s.get("last_gate") or {}).get("result") == "PAID"
    )
    return Released([blocked, paid], state, payment)


async def release_with_override(client: httpx.AsyncClient, steps: Steps, made: Produced) -> Released:
    """POSTPAID unpaid: released by an operator's override with its reason (``OVERRIDE``)."""
    wo = made.work_order_id
    steps.step(f"release with an override ({OVERRIDE_REASON!r})")
    release = await _release(client, steps, wo, override_reason=OVERRIDE_REASON)
    _expect(release, "OVERRIDE", blocked=False)
    reason = release.body["release"].get("override_reason")
    if reason != OVERRIDE_REASON:
        raise flows.FlowError(f"the override release of {wo} does not keep its reason: {release.body}")
    state = await billing_state(
        client, wo, "gate OVERRIDE", lambda s: (s.get("last_gate") or {}).get("result") == "OVERRIDE"
    )
    return Released([release], state)
