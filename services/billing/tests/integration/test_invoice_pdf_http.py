"""``GET /v1/service-invoices/:id/pdf`` (and the ``/v1/invoices`` alias) through the gateway on the real
stack (decision 33): a real PDF, byte-identical while the invoice does not change, another after a
payment, the verification hash on it and in its header; other tenants and callers without the read
capability get the normalized errors."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from devstack.launcher import StackInfo
from devstack.testing.fixtures import make_token

pytestmark = pytest.mark.stack

BASE = "/v1/service-invoices"
ALIAS = "/v1/invoices"
HASH_HEADER = "x-zenops-invoice-sha256"


def _client(stack: StackInfo, tenant: str, *capabilities: str) -> httpx.AsyncClient:
    headers = {
        "authorization": f"Bearer {make_token(stack, tenant_id=tenant, roles=(), capabilities=capabilities)}"
    }
    return httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=60)


@pytest.fixture
def tenant() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def finance(stack: StackInfo, tenant: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(stack, tenant, "invoices.write") as client:
        yield client


async def _issued(client: httpx.AsyncClient) -> dict[str, Any]:
    items = [
        {"description": "Valuation of Flat 4B", "quantity": 2, "unit_price": 61728, "tax_rate": 18},
        {"description": "Site visit", "quantity": 1, "unit_price": 3000},
    ]
    made = await client.post(BASE, json={"items": items, "bill_to_name": "Acme Bank Ltd"})
    assert made.status_code == 201, made.text
    issued = await client.post(f"{BASE}/{made.json()['id']}/issue")
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_the_pdf_is_real_reproducible_and_carries_the_state(finance: httpx.AsyncClient) -> None:
    invoice = await _issued(finance)
    iid = invoice["id"]
    first = await finance.get(f"{BASE}/{iid}/pdf")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    again = await finance.get(f"{ALIAS}/{iid}/pdf")
    assert again.status_code == 200
    assert again.content == first.content
    digest = first.headers[HASH_HEADER]
    text = _text(first.content)
    for expected in (invoice["invoice_number"], "ISSUED", "Acme Bank Ltd", "Valuation of Flat 4B", digest):
        assert expected in text, expected
    # 2 x 61,728 = 1,23,456 (+18% = 22,222.08) + 3,000
    for amount in ("₹1,23,456.00", "₹1,26,456.00", "₹22,222.08", "₹1,48,678.08"):
        assert amount in text, amount

    paid = await finance.post(f"{BASE}/{iid}/payments", json={"amount": 1000, "reference": "UTR-PDF-1"})
    assert paid.status_code == 201, paid.text
    after = await finance.get(f"{BASE}/{iid}/pdf")
    assert after.status_code == 200
    assert after.content != first.content
    assert after.headers[HASH_HEADER] != digest
    later = _text(after.content)
    assert "PARTIALLY_PAID" in later
    assert "UTR-PDF-1" in later
    assert "₹1,47,678.08" in later


async def test_other_tenants_and_callers_without_read_get_normalized_errors(
    stack: StackInfo, tenant: str, finance: httpx.AsyncClient
) -> None:
    invoice = await _issued(finance)
    async with _client(stack, str(uuid.uuid4()), "invoices.write") as other:
        resp = await other.get(f"{BASE}/{invoice['id']}/pdf")
        assert (resp.status_code, resp.json()["code"]) == (404, "INVOICE_NOT_FOUND")
    async with _client(stack, tenant, "masterdata.read") as nobody:
        resp = await nobody.get(f"{BASE}/{invoice['id']}/pdf")
        assert (resp.status_code, resp.json()["code"]) == (403, "INVOICE_READ_FORBIDDEN")
    missing = await finance.get(f"{BASE}/{uuid.uuid4()}/pdf")
    assert (missing.status_code, missing.json()["code"]) == (404, "INVOICE_NOT_FOUND")
