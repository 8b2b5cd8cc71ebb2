"""How the demo pays a POSTPAID work order's acceptance invoice: the one place it does.

The invoice is issued (Billing 2), then paid the way a customer pays in the dev stack: a Razorpay
checkout link for the amount due (Billing 3), paid at the provider simulator, whose signed webhook
settles the invoice in billing. Without a simulator (a stack started elsewhere) the amount due is
recorded as a bank transfer instead. The caller only needs the invoice back, settled (``status``
``PAID``, ``is_paid``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from devstack.testing import flows

INVOICES = "/v1/service-invoices"
#: the provider the demo pays through (the simulator speaks both; Razorpay is the Indian bank's usual rail)
PROVIDER = "razorpay"


def _decimal_body(resp: httpx.Response, *codes: int) -> dict[str, Any]:
    """The JSON body with its numbers as ``Decimal`` (money is never a float)."""
    flows.expect(resp, *codes)
    body: dict[str, Any] = json.loads(resp.text, parse_float=Decimal)
    return body


def _exact_json(body: dict[str, Any], amount: Decimal) -> str:
    """``body`` plus ``"amount"`` as an exact JSON number (json.dumps knows no Decimal; a float could round it)."""
    return json.dumps(body)[:-1] + f', "amount": {amount}}}'


async def pay_invoice(
    client: httpx.AsyncClient, invoice_id: str, *, work_order_id: str, provider_sim_url: str = ""
) -> dict[str, Any]:
    """Issue the invoice (a no-op when it is issued already) and pay what is due; the settled invoice.

    Every write carries an idempotency key derived from the work order, so running it again pays
    nothing twice.
    """
    issued = _decimal_body(
        await client.post(
            f"{INVOICES}/{invoice_id}/issue", headers={"Idempotency-Key": f"demo-issue-{work_order_id}"}
        ),
        201,
    )
    if issued.get("is_paid"):
        return issued
    due = Decimal(issued["amount_due"]).quantize(Decimal("0.01"))
    if provider_sim_url:
        await _pay_at_provider(client, provider_sim_url, issued, due, work_order_id)
        paid = _decimal_body(await client.get(f"{INVOICES}/{invoice_id}"), 200)
    else:
        payment = {"mode": "bank_transfer", "reference": f"demo-utr-{work_order_id[:8]}"}
        paid = _decimal_body(
            await client.post(
                f"{INVOICES}/{invoice_id}/payments",
                content=_exact_json(payment, due),
                headers={"Idempotency-Key": f"demo-pay-{work_order_id}", "content-type": "application/json"},
            ),
            201,
        )
    if paid.get("status") != "PAID" or not paid.get("is_paid"):
        raise flows.FlowError(f"invoice {invoice_id} is not settled after paying {due}: {paid}")
    return paid


async def _pay_at_provider(
    client: httpx.AsyncClient,
    provider_sim_url: str,
    invoice: dict[str, Any],
    due: Decimal,
    work_order_id: str,
) -> None:
    """A checkout link for ``due`` on the invoice, paid at the simulator; its signed webhook settles it."""
    checkout = {
        "account_id": invoice["account_id"],
        "purpose": "invoice",
        "provider": PROVIDER,
        "ref_type": "service_invoice",
        "ref_id": invoice["id"],
        "idempotency_key": f"demo-checkout-{work_order_id}",
    }
    order = _decimal_body(
        await client.post(
            "/v1/payments/checkout-link",
            content=_exact_json(checkout, due),
            headers={"content-type": "application/json"},
        ),
        200,
        201,
    )
    async with httpx.AsyncClient(base_url=provider_sim_url, timeout=60) as provider:
        paid = await provider.post(
            "/_sim/pay",
            json={"provider": PROVIDER, "order_id": order["provider_order_id"], "outcome": "paid"},
        )
    delivery = flows.expect(paid, 200).get("delivery") or {}
    if delivery.get("status") != 200:
        raise flows.FlowError(f"the provider's webhook for order {order['id']} was not accepted: {delivery}")
