"""Service invoices over HTTP on the real stack (domain.md §7.6, §9.3; decisions 12, 13): gap-free
numbers under 50 concurrent issues, 20 concurrent payments that never over-pay nor lose one, every
refusal changing nothing, idempotent retries and the access rules.

Concurrent requests go straight to the billing process (the gateway's rate limit is not what is
measured); the rest goes through the gateway.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import pdf_bytes
from devstack.testing.fixtures import make_token

pytestmark = pytest.mark.stack

BASE = "/v1/service-invoices"
ALIAS = "/v1/invoices"


def _client(stack: StackInfo, url: str, tenant: str, **token: Any) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {make_token(stack, tenant_id=tenant, **token)}"}
    limits = httpx.Limits(max_connections=60)
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits)


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test: its own (tenant, FY) counter and nothing else in its lists."""
    return str(uuid.uuid4())


@pytest.fixture
async def finance(stack: StackInfo, tenant: str) -> AsyncIterator[httpx.AsyncClient]:
    """A finance user of ``tenant`` through the gateway (invoices.write only)."""
    async with _client(stack, stack.urls["gateway"], tenant, roles=(), capabilities=("invoices.write",)) as c:
        yield c


@pytest.fixture
async def direct(stack: StackInfo, tenant: str) -> AsyncIterator[httpx.AsyncClient]:
    """The same user straight to billing (concurrency)."""
    async with _client(stack, stack.urls["billing"], tenant, roles=(), capabilities=("invoices.write",)) as c:
        yield c


async def create(client: httpx.AsyncClient, *prices: float, **body: Any) -> dict[str, Any]:
    items = [{"description": f"Line {i}", "quantity": 1, "unit_price": p} for i, p in enumerate(prices)]
    resp = await client.post(BASE, json={"items": items, **body})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def issued(client: httpx.AsyncClient, *prices: float) -> dict[str, Any]:
    made = await create(client, *prices)
    resp = await client.post(f"{BASE}/{made['id']}/issue")
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def uploaded(client: httpx.AsyncClient, text: str) -> str:
    """The storage key of a PDF uploaded through ``/v1/documents`` (what a payment proof names)."""
    data = pdf_bytes((f"UTR {uuid.uuid4()} {text}",))
    document = await flows.upload_document(client, "utr.pdf", data, "application/pdf")
    return str(document["storage_key"])


async def detail(client: httpx.AsyncClient, invoice_id: str) -> dict[str, Any]:
    resp = await client.get(f"{BASE}/{invoice_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


class TestNumbering:
    async def test_50_concurrent_issues_give_50_gap_free_numbers(
        self, finance: httpx.AsyncClient, direct: httpx.AsyncClient
    ) -> None:
        drafts = [await create(finance, 10) for _ in range(50)]
        responses = await asyncio.gather(*(direct.post(f"{BASE}/{d['id']}/issue") for d in drafts))
        assert [r.status_code for r in responses] == [201] * 50, [
            r.text for r in responses if r.status_code != 201
        ]
        numbers = sorted(r.json()["invoice_number"] for r in responses)
        fy = numbers[0][4:9]
        assert numbers == [f"INV-{fy}-{n:05d}" for n in range(1, 51)]
        assert all(r.json()["due_date"] is not None for r in responses)  # decision 13


class TestConcurrentPayments:
    async def test_20_concurrent_payments_never_over_pay_nor_lose_one(
        self, finance: httpx.AsyncClient, direct: httpx.AsyncClient
    ) -> None:
        invoice = await issued(finance, 150)
        iid = invoice["id"]
        responses = await asyncio.gather(
            *(
                direct.post(
                    f"{BASE}/{iid}/payments",
                    json={"amount": 10, "reference": f"utr-{n}"},
                    headers={"Idempotency-Key": f"pay-{n}"},
                )
                for n in range(20)
            )
        )
        codes = Counter(r.status_code for r in responses)
        assert codes[201] == 15, [r.text for r in responses]
        refused = {r.json()["code"] for r in responses if r.status_code != 201}
        assert refused <= {"INVOICE_ALREADY_SETTLED", "AMOUNT_EXCEEDS_DUE"}
        after = await detail(finance, iid)
        assert (after["status"], after["amount_paid"], after["amount_due"], after["is_paid"]) == (
            "PAID",
            150,
            0,
            True,
        )
        assert len(after["payments"]) == 15
        paid_refs = {p["reference"] for p in after["payments"]}
        accepted = {f"utr-{n}" for n, r in enumerate(responses) if r.status_code == 201}
        assert paid_refs == accepted  # every 201 is a stored payment: none lost

    async def test_20_concurrent_retries_of_one_key_pay_once(
        self, finance: httpx.AsyncClient, direct: httpx.AsyncClient
    ) -> None:
        invoice = await issued(finance, 100)
        iid = invoice["id"]
        responses = await asyncio.gather(
            *(
                direct.post(
                    f"{BASE}/{iid}/payments", json={"amount": 40}, headers={"Idempotency-Key": "same"}
                )
                for _ in range(20)
            )
        )
        assert {r.status_code for r in responses} == {201}
        after = await detail(finance, iid)
        assert (len(after["payments"]), after["amount_paid"], after["status"]) == (1, 40, "PARTIALLY_PAID")


def _unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after == before


class TestRefusalsChangeNothing:
    async def test_every_refusal_answers_its_code_and_changes_nothing(
        self, finance: httpx.AsyncClient
    ) -> None:
        draft = await create(finance, 136)
        open_ = await issued(finance, 136)
        paid = await issued(finance, 10)
        pay = await finance.post(f"{BASE}/{paid['id']}/payments", json={"amount": 10})
        assert pay.status_code == 201, pay.text
        part = await issued(finance, 136)
        pay = await finance.post(f"{BASE}/{part['id']}/payments", json={"amount": 50})
        assert pay.status_code == 201, pay.text
        voided = await issued(finance, 5)
        gone = await finance.post(f"{BASE}/{voided['id']}/void", json={"reason": "duplicate"})
        assert gone.status_code == 201, gone.text
        keyed = await finance.post(
            f"{BASE}/{open_['id']}/payments", json={"amount": 1}, headers={"Idempotency-Key": "k-1"}
        )
        assert keyed.status_code == 201, keyed.text

        cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int, str, str]] = [
            (
                open_["id"],
                "PATCH",
                {"notes": "x"},
                {},
                409,
                "INVOICE_NOT_DRAFT",
                "Only DRAFT invoices can be updated",
            ),
            (open_["id"], "issue", None, {}, 409, "INVOICE_ALREADY_ISSUED", "Invoice already issued"),
            (draft["id"], "send", None, {}, 409, "INVOICE_NOT_SENDABLE", "Invoice not in sendable state"),
            (open_["id"], "void", {}, {}, 400, "REASON_REQUIRED", "reason is required"),
            (
                part["id"],
                "void",
                {"reason": "r"},
                {},
                409,
                "INVOICE_HAS_PAYMENTS",
                "Cannot void invoice with payments",
            ),
            (
                draft["id"],
                "payments",
                {"amount": 1},
                {},
                409,
                "INVOICE_NOT_PAYABLE",
                "Invoice is not payable",
            ),
            (
                voided["id"],
                "payments",
                {"amount": 1},
                {},
                409,
                "INVOICE_NOT_PAYABLE",
                "Invoice is not payable",
            ),
            (part["id"], "payments", {"amount": 150}, {}, 400, "AMOUNT_EXCEEDS_DUE", "amount exceeds due"),
            (
                part["id"],
                "payments",
                {"amount": 0},
                {},
                400,
                "AMOUNT_NOT_POSITIVE",
                "amount must be positive",
            ),
            (
                paid["id"],
                "payments",
                {"amount": 1},
                {},
                409,
                "INVOICE_ALREADY_SETTLED",
                "Invoice already settled",
            ),
            (
                open_["id"],
                "payments",
                {"amount": 2},
                {"Idempotency-Key": "k-1"},
                409,
                "IDEMPOTENCY_KEY_REUSED",
                "Idempotency key mismatch",
            ),
            (
                draft["id"],
                "adjustments",
                {"amount": 5},
                {},
                409,
                "INVOICE_NOT_ADJUSTABLE",
                "Invoice is not adjustable",
            ),
            (
                open_["id"],
                "remind",
                None,
                {},
                400,
                "IDEMPOTENCY_KEY_REQUIRED",
                "Idempotency-Key header is required",
            ),
            (
                paid["id"],
                "remind",
                None,
                {"Idempotency-Key": "r"},
                409,
                "INVOICE_NOT_REMINDABLE",
                "Invoice already settled or voided",
            ),
        ]
        for invoice_id, action, body, headers, status, code, message in cases:
            before = await detail(finance, invoice_id)
            if action == "PATCH":
                resp = await finance.patch(f"{BASE}/{invoice_id}", json=body, headers=headers)
            else:
                resp = await finance.post(f"{BASE}/{invoice_id}/{action}", json=body, headers=headers)
            assert (resp.status_code, resp.json()["code"], resp.json()["message"]) == (
                status,
                code,
                message,
            ), (
                action,
                resp.text,
            )
            _unchanged(before, await detail(finance, invoice_id))

    async def test_unknown_and_malformed_ids_are_404(self, finance: httpx.AsyncClient) -> None:
        for invoice_id in (str(uuid.uuid4()), "not-a-uuid"):
            resp = await finance.get(f"{BASE}/{invoice_id}")
            assert resp.status_code == 404, resp.text
            resp = await finance.post(f"{BASE}/{invoice_id}/payments", json={"amount": 1})
            assert resp.status_code == 404, resp.text


class TestRetries:
    async def test_retries_with_the_same_keys_change_nothing(self, finance: httpx.AsyncClient) -> None:
        body = {"items": [{"description": "Visit", "unit_price": 120}], "notes": "retry"}
        first = await finance.post(ALIAS, json=body, headers={"Idempotency-Key": "create-1"})
        again = await finance.post(ALIAS, json=body, headers={"Idempotency-Key": "create-1"})
        assert (first.status_code, again.status_code) == (201, 201)
        iid = first.json()["id"]
        assert again.json()["id"] == iid
        listed = await finance.get(ALIAS)
        assert [i["id"] for i in listed.json()] == [iid]
        other = await finance.post(
            ALIAS, json={**body, "notes": "other"}, headers={"Idempotency-Key": "create-1"}
        )
        assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")

        for _ in range(2):
            issued_ = await finance.post(
                f"{ALIAS}/{iid}/issue", json={}, headers={"Idempotency-Key": "issue-1"}
            )
            assert issued_.status_code == 201, issued_.text
        for _ in range(2):
            paid = await finance.post(f"{ALIAS}/{iid}/mark-paid", headers={"Idempotency-Key": "mp-1"})
            assert (paid.status_code, paid.json()["status"]) == (201, "PAID"), paid.text
        storage_key = await uploaded(finance, "retry")
        for _ in range(2):
            proof = await finance.post(
                f"{ALIAS}/{iid}/payment-proof",
                json={"kind": "payment_proof", "original_name": "utr.pdf", "storage_key": storage_key},
                headers={"Idempotency-Key": "pp-1"},
            )
            assert (proof.status_code, proof.json()["kind"]) == (201, "PAYMENT_PROOF"), proof.text
        after = await detail(finance, iid)
        assert (len(after["payments"]), len(after["attachments"])) == (1, 1)
        events = [a["event_type"] for a in after["audit_logs"]]
        assert events == ["created", "issued", "payment_recorded", "attachment_added"]
        assert all(a["actor_user_id"] for a in after["audit_logs"])

    async def test_keys_and_fields_are_bounded(self, finance: httpx.AsyncClient) -> None:
        made = await create(finance, 1)
        long_key = await finance.post(f"{BASE}/{made['id']}/issue", headers={"Idempotency-Key": "k" * 201})
        assert (long_key.status_code, long_key.json()["code"]) == (400, "VALIDATION_FAILED")
        for body in ({"notes": "x" * 10_001}, {"items": [{"description": "d", "unit_price": 0.001}]}):
            resp = await finance.patch(f"{BASE}/{made['id']}", json=body)
            assert (resp.status_code, resp.json()["code"]) == (400, "VALIDATION_FAILED"), body
        assert (await detail(finance, made["id"]))["status"] == "DRAFT"


class TestListAndAccess:
    async def test_pages_filters_and_bad_cursor(self, finance: httpx.AsyncClient) -> None:
        made = [await create(finance, 1, notes=f"batch {n}") for n in range(3)]
        first = await finance.get(BASE, params={"limit": 2})
        cursor = first.headers["x-next-cursor"]
        second = await finance.get(BASE, params={"limit": 2, "cursor": cursor})
        assert second.status_code == 200, second.text
        assert [i["id"] for i in first.json() + second.json()] == [m["id"] for m in reversed(made)]
        assert "x-next-cursor" not in second.headers
        bad = await finance.get(BASE, params={"cursor": "nonsense"})
        assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_CURSOR")
        found = await finance.get(BASE, params={"search": "batch 1", "status": "draft"})
        assert [i["id"] for i in found.json()] == [made[1]["id"]]
        overdue = await finance.get(BASE, params={"overdue": "true", "issued_from": "2020-01-01"})
        assert (overdue.status_code, overdue.json()) == (200, [])  # drafts are never overdue
        reversed_range = await finance.get(
            BASE, params={"issued_from": "2026-02-02", "issued_to": "2026-02-01"}
        )
        assert (reversed_range.status_code, reversed_range.json()["code"]) == (400, "INVALID_FILTER")

    async def test_capabilities(self, stack: StackInfo, tenant: str, finance: httpx.AsyncClient) -> None:
        made = await create(finance, 1)
        storage_key = await uploaded(finance, "portal")
        gw = stack.urls["gateway"]
        async with _client(stack, gw, tenant, roles=(), capabilities=("masterdata.read",)) as nobody:
            resp = await nobody.get(f"{BASE}/{made['id']}")
            assert (resp.status_code, resp.json()["code"]) == (403, "INVOICE_READ_FORBIDDEN")
        async with _client(stack, gw, tenant, roles=(), capabilities=("invoices.read",)) as reader:
            assert (await reader.get(f"{BASE}/{made['id']}")).status_code == 200
            resp = await reader.post(f"{BASE}/{made['id']}/void", json={"reason": "x"})
            assert (resp.status_code, resp.json()["code"]) == (403, "INVOICE_WRITE_FORBIDDEN")
        async with _client(stack, gw, tenant, aud="portal", roles=(), capabilities=()) as portal:
            assert (await portal.get(f"{BASE}/{made['id']}")).status_code == 200
            resp = await portal.post(f"{BASE}/{made['id']}/void", json={"reason": "x"})
            assert (resp.status_code, resp.json()["code"]) == (403, "PORTAL_INVOICE_WRITE_FORBIDDEN")
            proof = await portal.post(
                f"{BASE}/{made['id']}/payment-proof",
                json={
                    "original_name": "utr.pdf",
                    "storage_key": storage_key,
                    "mime_type": "application/pdf",
                },
            )
            assert proof.status_code == 201, proof.text
        assert (await detail(finance, made["id"]))["status"] == "DRAFT"


class TestPaymentProofDocuments:
    async def test_only_a_document_uploaded_by_the_tenant_is_accepted(
        self, stack: StackInfo, finance: httpx.AsyncClient
    ) -> None:
        made = await create(finance, 1)
        proof = {"original_name": "utr.pdf", "storage_key": "sha256/" + "0" * 64}
        unknown = await finance.post(f"{BASE}/{made['id']}/payment-proof", params={"wait": 0}, json=proof)
        assert (unknown.status_code, unknown.json()["code"]) == (404, "PAYMENT_PROOF_DOCUMENT_NOT_FOUND")
        # another tenant's upload is not this tenant's document
        async with _client(stack, stack.urls["gateway"], str(uuid.uuid4())) as other:
            foreign = await uploaded(other, "foreign")
        refused = await finance.post(
            f"{BASE}/{made['id']}/payment-proof", params={"wait": 300}, json={**proof, "storage_key": foreign}
        )
        assert (refused.status_code, refused.json()["code"]) == (404, "PAYMENT_PROOF_DOCUMENT_NOT_FOUND")
        # read your writes: attached right after the upload, no polling by the client
        mine = await uploaded(finance, "mine")
        attached = await finance.post(
            f"{BASE}/{made['id']}/payment-proof", json={**proof, "storage_key": mine}
        )
        assert attached.status_code == 201, attached.text
        assert [a["storage_key"] for a in (await detail(finance, made["id"]))["attachments"]] == [mine]
