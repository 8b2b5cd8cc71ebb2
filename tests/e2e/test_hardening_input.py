"""Issue 12, limits: one tenant's bad input is a 4xx with a code, changes nothing, and never a 500.

Every request goes through the gateway on the real stack. Rows are counted with the admin DSN before
and after, so "refused" also means "nothing stored". The last test proves a normal work order still
reaches billing after all of it.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.testing.data import TEST_TENANT, work_order_body
from devstack.testing.data import WORK_ORDERS as WO
from devstack.testing.gateway import create_account, new_work_order_id
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

NUL = "bad\u0000value"
BIG = "x" * (3 * 1024 * 1024)  # a few MB: the broker refused the outbox message of such a field


def refused(resp: httpx.Response, *codes: int) -> dict[str, Any]:
    """A 4xx JSON error ``{code, message, details}`` (400 unless other statuses are allowed)."""
    allowed = codes or (400,)
    assert resp.status_code in allowed, (resp.status_code, resp.text[:500])
    body: dict[str, Any] = resp.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], str)
    assert body["code"]
    return body


def invalid(resp: httpx.Response) -> dict[str, Any]:
    body = refused(resp, 400)
    assert body["code"] == "VALIDATION_FAILED", body
    return body


async def count(db: asyncpg.Connection, sql: str, *args: Any) -> int:
    value = await db.fetchval(sql, *args)
    return int(value)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


async def new_account(studio: httpx.AsyncClient) -> str:
    return await create_account(
        studio, display_name="Limits", external_key=f"v1:partner:lim{uuid.uuid4().hex[:10]}"
    )


# ------------------------------------------------------------------------------ oversized fields


class TestOversizedFields:
    async def test_multi_megabyte_bank_name_is_refused_and_nothing_is_created(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        # Counted by what these requests would have written, not table-wide: other tests' flows still
        # write work orders and outbox rows in the background.
        oversized_wo = "SELECT count(*) FROM workorders.work_orders WHERE length(bank_name) > 200"
        oversized_event = "SELECT count(*) FROM workorders.outbox WHERE octet_length(envelope::text) > 200000"
        resp = await gateway.post(WO, json=work_order_body(bank_name=BIG))
        refused(resp, 400, 413)
        long_name = await gateway.post(WO, json=work_order_body(bank_name="b" * 201))
        assert invalid(long_name)["details"]["issues"][0]["path"] == "bank_name"
        assert await count(admin_db, oversized_wo) == 0
        assert await count(admin_db, oversized_event) == 0

    async def test_multi_megabyte_comment_is_refused_and_nothing_is_stored(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        wo = await new_work_order_id(gateway)
        url = f"{WO}/{wo}/comments"
        refused(await gateway.post(url, json={"comment_type": "NOTES", "body": BIG}), 400, 413)
        invalid(await gateway.post(url, json={"comment_type": "NOTES", "body": "c" * 10_001}))
        assert (
            await count(
                admin_db, "SELECT count(*) FROM workorders.comments WHERE work_order_id = $1", uuid.UUID(wo)
            )
            == 0
        )
        ok = await gateway.post(url, json={"comment_type": "NOTES", "body": "c" * 10_000})
        assert ok.status_code == 201, ok.text

    async def test_oversized_contract_text_and_lists(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        url = f"{WO}/{wo}/contract"
        long_text = {"patch": {"manual_fields": {"justification_text": "j" * 10_001}}}
        body = refused(await gateway.patch(url, json=long_text))
        assert body["details"]["issues"][0]["path"] == "patch.manual_fields.justification_text"
        floors = [{"label": f"F{i}"} for i in range(101)]
        refused(await gateway.patch(url, json={"patch": {"property": {"floors": floors}}}))
        huge_number = {"patch": {"valuation_inputs": {"land_value": 1e300}}}
        refused(await gateway.patch(url, json=huge_number))


# ------------------------------------------------------------------------------ NUL characters


class TestNulCharacters:
    async def test_work_order_fields(self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection) -> None:
        before = await count(admin_db, "SELECT count(*) FROM workorders.work_orders")
        invalid(await gateway.post(WO, json=work_order_body(bank_name=NUL)))
        invalid(await gateway.post(WO, json=work_order_body(billing_external_key=NUL)))
        assert await count(admin_db, "SELECT count(*) FROM workorders.work_orders") == before
        invalid(await gateway.get(WO, params={"search": "\x00"}))
        invalid(await gateway.get(f"{WO}?search=%00"))

    async def test_comments_status_notes_and_contract(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        wo = await new_work_order_id(gateway)
        issue = invalid(
            await gateway.post(f"{WO}/{wo}/comments", json={"comment_type": "NOTES", "body": NUL})
        )
        assert issue["details"]["issues"][0]["type"] == "string_nul"
        invalid(await gateway.post(f"{WO}/{wo}/status", json={"status": "EVIDENCE_PENDING", "note": NUL}))
        refused(await gateway.patch(f"{WO}/{wo}/contract", json={"patch": {"party": {"borrower_name": NUL}}}))
        # an unknown key is stripped by the contract, but it would reach the idempotency hash: refused too
        invalid(await gateway.patch(f"{WO}/{wo}/contract", json={"patch": {}, NUL: 1}))
        detail = (await gateway.get(f"{WO}/{wo}")).json()
        assert detail["work_order"]["status"] == "DRAFT"
        assert (
            await count(
                admin_db, "SELECT count(*) FROM workorders.comments WHERE work_order_id = $1", uuid.UUID(wo)
            )
            == 0
        )
        assert (
            await count(
                admin_db,
                "SELECT count(*) FROM workorders.contract_snapshots WHERE work_order_id = $1",
                uuid.UUID(wo),
            )
            == 0
        )

    async def test_release_keys_and_pack_keys(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        invalid(await gateway.post(f"{WO}/{wo}/release-deliverables", json={"idempotency_key": NUL}))
        invalid(
            await gateway.post(
                f"{WO}/{wo}/release-deliverables",
                json={"idempotency_key": "k", "override": True, "override_reason": NUL},
            )
        )
        invalid(await gateway.post(f"{WO}/{wo}/create-pack", json={"idempotency_key": NUL}))

    async def test_evidence_fields(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        item = {"evidence_type": "PHOTO", "doc_type": "OTHER", "file_ref": "demo://x.jpg"}
        invalid(await gateway.post(f"{WO}/{wo}/evidence/link", json={"items": [{**item, "file_ref": NUL}]}))
        invalid(
            await gateway.post(f"{WO}/{wo}/evidence/link", json={"items": [{**item, "tags": {"k": NUL}}]})
        )
        invalid(
            await gateway.post(f"{WO}/{wo}/evidence/link", json={"items": [{**item, "tags": {NUL: "v"}}]})
        )
        link = {"field_key": NUL, "evidence_item_id": str(uuid.uuid4())}
        invalid(await gateway.post(f"{WO}/{wo}/field-evidence-links", json={"links": [link]}))
        invalid(await gateway.post(f"{WO}/{wo}/ocr/enqueue", json={"evidence_item_id": NUL}))

    async def test_upload_capture_and_form_fields(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        before = await count(admin_db, "SELECT count(*) FROM evidence.documents")
        for form in (
            {"capture": json.dumps({"note": NUL})},
            {"capture": json.dumps({NUL: 1})},
            {"capture": '{"a": NaN}'},
            {"source": NUL},
            {"captured_at": NUL},
        ):
            resp = await gateway.post(
                "/v1/documents", files={"file": ("p.png", png(), "image/png")}, data=form
            )
            invalid(resp)
        assert await count(admin_db, "SELECT count(*) FROM evidence.documents") == before

    async def test_control_plane_accounts(
        self, studio: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        before = await count(admin_db, "SELECT count(*) FROM billing.accounts")
        body = {
            "tenant_id": TEST_TENANT,
            "account_type": "external_associate",
            "display_name": NUL,
            "external_key": f"v1:partner:nul{uuid.uuid4().hex[:8]}",
        }
        invalid(await studio.post("/v1/control/accounts", json=body))
        invalid(
            await studio.post(
                "/v1/control/accounts", json={**body, "display_name": "ok", "external_key": NUL}
            )
        )
        assert await count(admin_db, "SELECT count(*) FROM billing.accounts") == before
        invalid(await studio.get("/v1/control/tenant?search=%00"))
        invalid(await studio.get("/v1/control/credits/reservations", params={"status": "\x00"}))
        account = await new_account(studio)
        grant = {"amount": 1, "idempotency_key": NUL}
        invalid(await studio.post(f"/v1/control/accounts/{account}/credits/grant", json=grant))
        invalid(
            await studio.patch(
                f"/v1/control/accounts/{account}/policy", json={"billing_mode": "postpaid", "currency": NUL}
            )
        )


# ------------------------------------------------------------------------------ integers


class TestIntegerBounds:
    async def test_snapshot_version_and_page_sizes(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        invalid(await gateway.get(f"{WO}/{wo}/export", params={"snapshot_version": 2**31}))
        invalid(await gateway.get(f"{WO}/{wo}/export", params={"snapshot_version": 10**20}))
        invalid(await gateway.get(WO, params={"limit": 10**20}))
        # a path id that is no uuid is a JSON 404, never a 500
        refused(await gateway.get(f"{WO}/not-a-uuid"), 404)
        refused(await gateway.get(f"{WO}/{'9' * 100}/export"), 404)

    async def test_account_and_policy_integers(self, studio: httpx.AsyncClient) -> None:
        body = {
            "tenant_id": TEST_TENANT,
            "account_type": "external_associate",
            "display_name": "Ints",
            "external_key": f"v1:partner:int{uuid.uuid4().hex[:8]}",
        }
        invalid(await studio.post("/v1/control/accounts", json={**body, "payment_terms_days": 2**31}))
        account = await new_account(studio)
        policy = f"/v1/control/accounts/{account}/policy"
        invalid(await studio.patch(policy, json={"billing_mode": "postpaid", "payment_terms_days": 2**31}))
        invalid(
            await studio.patch(policy, json={"billing_mode": "postpaid", "monthly_report_allowance": 2**31})
        )
        invalid(
            await studio.patch(policy, json={"billing_mode": "postpaid", "monthly_report_allowance": 2**63})
        )
        reconcile = {"timeout_minutes": 10**12, "dry_run": True}
        invalid(await studio.post("/v1/control/credits/reconcile", json=reconcile))
        invalid(await studio.get("/v1/control/credits/reservations", params={"limit": 10**20}))

    @pytest.mark.usefixtures("stack")
    async def test_huge_grants_are_refused_and_the_account_keeps_working(
        self, studio: httpx.AsyncClient
    ) -> None:
        account = await new_account(studio)
        grant_url = f"/v1/control/accounts/{account}/credits/grant"
        for amount in (2**63 - 1, 2**63, 2**64, 10**7):
            invalid(await studio.post(grant_url, json={"amount": amount, "idempotency_key": f"g{amount}"}))
        ok = await studio.post(grant_url, json={"amount": 1_000_000, "idempotency_key": "g-ok"})
        assert ok.status_code == 201, ok.text
        again = await studio.post(grant_url, json={"amount": 5, "idempotency_key": "g-ok-2"})
        assert again.status_code == 201, again.text
        assert again.json()["credit"]["wallet"] == 1_000_005
        reserve = {
            "account_id": account,
            "amount": 2**40,
            "ref_type": "limits",
            "ref_id": "r1",
            "idempotency_key": "r1",
            "operator_override": True,
        }
        invalid(await studio.post("/v1/control/credits/reserve", json=reserve))

    async def test_an_account_pushed_to_its_column_maximum_answers_4xx(
        self, studio: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        # Before the limits a grant of 2^63 - 1 was accepted; such an account must not 500 forever after.
        account = await new_account(studio)
        top = 2**63 - 1
        await admin_db.execute(
            "UPDATE billing.balances SET wallet = $2, reserved = 0, available = $2 WHERE account_id = $1",
            uuid.UUID(account),
            top,
        )
        resp = await studio.post(
            f"/v1/control/accounts/{account}/credits/grant", json={"amount": 1, "idempotency_key": "over"}
        )
        assert refused(resp, 409)["code"] == "CREDIT_WALLET_LIMIT_EXCEEDED"
        status = await studio.get(f"/v1/control/accounts/{account}/status")
        assert status.status_code == 200, status.text
        assert status.json()["credit"]["wallet"] == top


# ------------------------------------------------------------------------------ nesting


class TestNesting:
    async def test_deep_json_bodies_are_400(
        self, gateway: httpx.AsyncClient, studio: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        deep = nested(5000)
        headers = {"content-type": "application/json"}
        refused(await gateway.post(WO, content=deep, headers=headers))
        refused(await gateway.patch(f"{WO}/{wo}/contract", content=deep, headers=headers))
        checklist = '{"patch": {"manual_fields": {"checklist_json": ' + nested(40) + "}}}"
        refused(await gateway.patch(f"{WO}/{wo}/contract", content=checklist, headers=headers))
        tags = '{"items": [{"evidence_type": "PHOTO", "tags": ' + nested(40) + "}]}"
        invalid(await gateway.post(f"{WO}/{wo}/evidence/link", content=tags, headers=headers))
        account = await new_account(studio)
        meta = '{"amount": 1, "idempotency_key": "m", "metadata_json": ' + nested(5000) + "}"
        refused(
            await studio.post(f"/v1/control/accounts/{account}/credits/grant", content=meta, headers=headers)
        )

    async def test_deep_upload_capture_is_400_and_stores_nothing(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        before = await count(admin_db, "SELECT count(*) FROM evidence.documents")
        for depth in (40, 5000):
            resp = await gateway.post(
                "/v1/documents",
                files={"file": ("p.png", png(), "image/png")},
                data={"capture": nested(depth)},
            )
            assert invalid(resp)["details"]["issues"][0]["path"] == "capture"
        assert await count(admin_db, "SELECT count(*) FROM evidence.documents") == before
        shallow = await gateway.post(
            "/v1/documents",
            files={"file": ("p.png", png(), "image/png")},
            data={"capture": json.dumps({"gps": {"lat": 12.97, "lng": 77.59}})},
        )
        assert shallow.status_code == 201, shallow.text


# ------------------------------------------------------------------------------ still flowing


class TestStillFlowing:
    async def test_a_normal_work_order_still_reaches_billing(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway, bank_name="Bank of Baroda — शाखा 🏦")

        async def billed() -> bool:
            resp = await gateway.get(f"/v1/billing/work-orders/{wo}")
            return resp.status_code == 200

        await eventually(billed, f"billing state of {wo}", within_s=60.0, every_s=0.2)
        comment = await gateway.post(f"{WO}/{wo}/comments", json={"comment_type": "NOTES", "body": "fine"})
        assert comment.status_code == 201, comment.text
