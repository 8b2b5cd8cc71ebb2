"""``GET /v1/documents`` through the gateway as the original API served it (issue 20 item 4).

A bare JSON array of the tenant's documents, newest first, each ``{id, original_filename,
classification, source, created_at}``; ``limit`` (1..200, default 50) and ``work_order_id`` filter it.
Another tenant lists none of them, through the gateway and as the evidence app role under RLS.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import OTHER_TENANT, pdf_bytes
from devstack.testing.fixtures import make_token
from devstack.testing.gateway import new_work_order_id

pytestmark = pytest.mark.stack

FIELDS = {"id", "original_filename", "classification", "source", "created_at"}


async def upload(client: httpx.AsyncClient, name: str, **form: str) -> str:
    doc = await flows.upload_document(client, name, pdf_bytes((name,)), "application/pdf", **form)
    return str(doc["id"])


def listed(resp: httpx.Response) -> list[dict[str, Any]]:
    """The bare array of a 200 answer."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert isinstance(body, list)
    return body


class TestDocumentList:
    async def test_newest_first_bounded_and_filtered_by_work_order(self, gateway: httpx.AsyncClient) -> None:
        marker = uuid.uuid4().hex[:8]
        first = await upload(gateway, f"deed-{marker}.pdf", classification="legal", source="desktop_upload")
        second = await upload(gateway, f"plan-{marker}.pdf")
        wo = await new_work_order_id(gateway)
        item = {"evidence_type": "DOCUMENT", "doc_type": "SALE_DEED", "document_id": first}
        await flows.link_evidence(gateway, wo, [item])

        body = listed(await gateway.get("/v1/documents"))
        assert 2 <= len(body) <= 50
        assert all(set(doc) == FIELDS for doc in body)
        assert [d["id"] for d in body[:2]] == [second, first]  # newest first
        assert [d["created_at"] for d in body] == sorted((d["created_at"] for d in body), reverse=True)
        deed = body[1]
        assert (deed["original_filename"], deed["classification"], deed["source"]) == (
            f"deed-{marker}.pdf",
            "legal",
            "desktop_upload",
        )
        assert (body[0]["classification"], body[0]["source"]) == (None, None)

        newest = listed(await gateway.get("/v1/documents", params={"limit": 1}))
        assert [d["id"] for d in newest] == [second]
        of_wo = listed(await gateway.get("/v1/documents", params={"work_order_id": wo}))
        assert [d["id"] for d in of_wo] == [first]
        unknown = {"work_order_id": str(uuid.uuid4())}
        assert listed(await gateway.get("/v1/documents", params=unknown)) == []

    @pytest.mark.parametrize(
        "params", [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"work_order_id": "not-a-uuid"}]
    )
    async def test_bad_filters_are_refused(
        self, gateway: httpx.AsyncClient, params: dict[str, str | int]
    ) -> None:
        resp = await gateway.get("/v1/documents", params=params)
        assert resp.status_code == 400, resp.text
        assert resp.json()["code"] == "VALIDATION_FAILED"

    async def test_the_largest_page_is_allowed(self, gateway: httpx.AsyncClient) -> None:
        resp = await gateway.get("/v1/documents", params={"limit": 200})
        assert resp.status_code == 200, resp.text
        assert len(resp.json()) <= 200

    async def test_no_token_no_list(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as anonymous:
            resp = await anonymous.get("/v1/documents")
        assert (resp.status_code, resp.json()["code"]) == (401, "TOKEN_MISSING")


class TestIsolation:
    async def test_another_tenant_lists_none_of_them(
        self, stack: StackInfo, gateway: httpx.AsyncClient, other_tenant: httpx.AsyncClient
    ) -> None:
        mine = await upload(gateway, f"isolated-{uuid.uuid4().hex[:8]}.pdf")
        wo = await new_work_order_id(gateway)
        await flows.link_evidence(
            gateway, wo, [{"evidence_type": "DOCUMENT", "doc_type": "RTC", "document_id": mine}]
        )

        theirs = listed(await other_tenant.get("/v1/documents", params={"limit": 200}))
        assert mine not in {d["id"] for d in theirs}
        by_wo = await other_tenant.get("/v1/documents", params={"work_order_id": wo})
        assert (by_wo.status_code, by_wo.json()) == (200, [])

        # the evidence app role under tenant B's settings: RLS hides tenant A's row even without a WHERE
        dsn = stack.dsns["evidence"]["app"].replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.tenant_id', $1, true), set_config('app.aud', 'web', true)",
                    OTHER_TENANT,
                )
                seen = await conn.fetchval(
                    "SELECT count(*) FROM evidence.documents WHERE id = $1", uuid.UUID(mine)
                )
        finally:
            await conn.close()
        assert seen == 0

    async def test_the_portal_audience_lists_no_documents(self, stack: StackInfo) -> None:
        token = make_token(stack, aud="portal", roles=("portal_user",), capabilities=())
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30) as portal:
            resp = await portal.get("/v1/documents")
        assert (resp.status_code, resp.json()["code"]) == (403, "PORTAL_EVIDENCE_FORBIDDEN")
