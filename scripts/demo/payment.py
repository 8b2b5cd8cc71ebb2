"""How the demo pays a POSTPAID work order's acceptance invoice: the one place it does.

Today through the service-invoice routes of Billing 2: the draft invoice is issued, then its amount due
is recorded as one payment (a bank transfer with its reference). Replace the body of
:func:`pay_invoice` to pay another way (a provider checkout or top-up through a simulator); the caller
only needs the invoice back, settled (``status`` ``PAID``, ``is_paid``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from devstack.testing import flows

INVOICES = "/v1/service-invoices"


def _decimal_body(resp: httpx.Response, *codes: int) -> dict[str, Any]:
    """The JSON body with its numbers as ``Decimal`` (money is never a float)."""
    flows.expect(resp, *codes)
    body: dict[str, Any] = json.loads(resp.text, parse_float=Decimal)
    return body


async def pay_invoice(client: httpx.AsyncClient, invoice_id: str, *, work_order_id: str) -> dict[str, Any]:
    """Issue the invoice (a no-op when it is issued already) and pay what is due; the settled invoice.

    Both writes carry an ``Idempotency-Key`` derived from the work order, so running it again pays
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
    payment = {"mode": "bank_transfer", "reference": f"demo-utr-{work_order_id[:8]}"}
    # the amount as an exact JSON number (json.dumps knows no Decimal; a float could round it)
    content = json.dumps(payment)[:-1] + f', "amount": {due}}}'
    paid = _decimal_body(
        await client.post(
            f"{INVOICES}/{invoice_id}/payments",
            content=content,
            headers={"Idempotency-Key": f"demo-pay-{work_order_id}", "content-type": "application/json"},
        ),
        201,
    )
    if paid.get("status") != "PAID" or not paid.get("is_paid"):
        raise flows.FlowError(f"invoice {invoice_id} is not settled after paying {due}: {paid}")
    return paid
