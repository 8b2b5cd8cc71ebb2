"""Tenant-isolation sweep (issue 19 item 4), beside ``test_rls.py``: a second tenant's token reads, lists
and writes nothing of the first tenant's, in every service, by id or by search, through the gateway; it
reaches no ops route and gets nothing from the ``zenops`` CLI.

The cases are generated: every operation of the gateway's merged OpenAPI document is resolved with the
gateway's own route table (``gateway_service.routes``), so a route added to any service is swept by
default. Tenant routes (``jwt``) that name a resource by path are called by tenant B with tenant A's id of
that kind and a body built from the operation's request schema (valid, so the answer is about tenancy,
not validation) and must answer 404; tenant routes without a path id are called with tenant A's ids and
search text in every query parameter and must answer nothing of A's; ops routes must refuse B's token.
A path parameter of a kind this module does not know fails the sweep: give the new kind a fixture.

By design outside the sweep: service-token routes (V1, cross-tenant by architecture §6), the studio
control plane and studio callers of the ops routes (platform staff, cross-tenant), webhooks (public,
signed). Tenant B may *use* a route to create its own things; the cross-reference cases check that it
cannot point them at tenant A's (an invoice on A's account, A's document or evidence item on B's work
order).
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import subprocess
import sys
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.fixtures import OTHER_TENANT, TEST_TENANT, make_token
from devstack.testing.gateway import create_account
from gateway_service.routes import DEFAULT_TABLE, Auth, Route

pytestmark = pytest.mark.stack

METHODS = ("get", "post", "put", "patch", "delete")
WO = "/v1/repogen/work-orders"


def _png() -> bytes:
    """A valid 1x1 PNG (evidence checks the bytes, not the name)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()


@dataclass(frozen=True)
class World:
    """Tenant A's things the sweep points tenant B at."""

    work_order_id: str
    bank: str
    document_id: str
    evidence_item_id: str
    invoice_id: str
    account_id: str
    subscription_id: str
    profile_id: str

    def by_kind(self) -> dict[str, str]:
        """Path parameter name → A's id of that kind."""
        return {
            "work_order_id": self.work_order_id,
            "document_id": self.document_id,
            "invoice_id": self.invoice_id,
            "account_id": self.account_id,
            "subscription_id": self.subscription_id,
            "item_id": self.evidence_item_id,
            "profile_id": self.profile_id,
        }

    def secrets(self) -> list[str]:
        """Strings no answer to tenant B may carry (ids, the search text, tenant A's id)."""
        return [*self.by_kind().values(), self.bank, TEST_TENANT]


def _client(stack: StackInfo, tenant: str, aud: str = "web") -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {make_token(stack, tenant_id=tenant, aud=aud)}"}
    return httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=60)


def _ok(resp: httpx.Response, *codes: int) -> dict[str, Any]:
    assert resp.status_code in codes, (
        f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    )
    body: dict[str, Any] = resp.json()
    return body


async def _world(stack: StackInfo, a: httpx.AsyncClient) -> World:
    bank = f"Isolation Bank {uuid.uuid4().hex[:10]}"
    wo = _ok(
        await a.post(WO, json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": bank}), 201
    )
    wo_id = str(wo["work_order_id"])
    _ok(
        await a.post(f"{WO}/{wo_id}/comments", json={"comment_type": "NOTES", "body": f"note of {bank}"}), 201
    )
    doc = _ok(await a.post("/v1/documents", files={"file": ("a.png", PNG, "image/png")}), 201)
    doc_id = str(doc.get("id") or doc["document_id"])
    linked = _ok(
        await a.post(
            f"{WO}/{wo_id}/evidence/link", json={"items": [{"evidence_type": "PHOTO", "document_id": doc_id}]}
        ),
        201,
    )
    item_id = str(linked["evidence_items"][0]["id"])
    invoice = _ok(
        await a.post("/v1/service-invoices", json={"items": [{"description": bank, "unit_price": 70}]}), 201
    )
    _ok(await a.post(f"/v1/service-invoices/{invoice['id']}/issue"), 201)
    _ok(await a.post(f"/v1/service-invoices/{invoice['id']}/payments", json={"amount": 10}), 201)
    async with _client(stack, TEST_TENANT, "studio") as studio:
        account_id = await create_account(
            studio, display_name=bank, external_key=f"v2:external:iso-{uuid.uuid4().hex[:12]}"
        )
        sub = _ok(
            await studio.post(
                "/v1/control/subscriptions",
                json={
                    "tenant_id": TEST_TENANT,
                    "account_id": account_id,
                    "plan_name": f"iso-{uuid.uuid4().hex[:10]}",
                },
            ),
            201,
        )
    profiles = _ok(await a.get(f"{WO}/{wo_id}/evidence-profiles"), 200)
    profile_id = str(profiles["selected_profile_id"])
    return World(wo_id, bank, doc_id, item_id, str(invoice["id"]), account_id, str(sub["id"]), profile_id)


async def _state_of(a: httpx.AsyncClient, w: World) -> list[Any]:
    """What tenant A sees of its things (compared before and after the sweep)."""
    reads = [
        f"{WO}/{w.work_order_id}",
        f"{WO}/{w.work_order_id}/comments",
        f"{WO}/{w.work_order_id}/evidence",
        f"{WO}/{w.work_order_id}/field-evidence-links",
        f"/v1/documents/{w.document_id}",
        f"/v1/service-invoices/{w.invoice_id}",
    ]
    return [_ok(await a.get(path), 200) for path in reads]


# --- generating the cases from the OpenAPI document and the route table ---------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # the OpenAPI path, ``{name}`` parameters
    route: Route
    spec: dict[str, Any]

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.template)


async def _operations(stack: StackInfo) -> list[Operation]:
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=60) as anon:
        doc = _ok(await anon.get("/openapi.json"), 200)
    found: list[Operation] = []
    for template, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
            route = DEFAULT_TABLE.resolve(method.upper(), concrete)
            assert route is not None, (
                f"{method.upper()} {template} is in the OpenAPI but not in the route table"
            )
            found.append(Operation(method.upper(), template, route, {**item[method], "_doc": doc}))
    return found


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def example(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> Any:
    """A minimal valid instance of ``schema``: required properties only, the smallest allowed values."""
    schema = _resolve(schema, doc)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, doc).get("type") != "null"]
            return example(options[0], doc, depth + 1)
    if "allOf" in schema:
        return example(schema["allOf"][0], doc, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(props[k], doc, depth + 1) for k in schema.get("required", []) if depth < 6}
    if kind == "array":
        return [example(schema["items"], doc, depth + 1) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return datetime.now(UTC).isoformat()
        if fmt == "date":
            return datetime.now(UTC).date().isoformat()
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        low = schema.get(
            "minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1
        )
        return max(1, int(low)) if kind == "integer" else max(1, low)
    if kind == "boolean":
        return False
    return None


#: fields a route needs that its schema leaves optional (the domain requires them), by path suffix
NEEDED: dict[str, dict[str, Any]] = {
    "/void": {"reason": "isolation"},
    "/evidence-profile": {"use_default": True},
    "/release-deliverables": {"idempotency_key": "isolation"},
}


def _body(op: Operation) -> dict[str, Any]:
    """``json=`` or ``files=`` keyword arguments of a valid request to ``op`` (none without a body)."""
    content = op.spec.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = example(content["application/json"]["schema"], op.spec["_doc"])
        extra = next((v for k, v in NEEDED.items() if op.template.endswith(k)), {})
        return {"json": {**body, **extra} if isinstance(body, dict) else body}
    if "multipart/form-data" in content:
        return {"files": {"file": ("b.png", PNG, "image/png")}}
    return {}


def _leaks(resp: httpx.Response, w: World) -> list[str]:
    """What of tenant A's an answer to B carries: on success any id, name or the tenant; on a refusal the
    tenant or the search text (a 404 may echo the id B asked for)."""
    text = resp.text
    watched = w.secrets() if resp.is_success else [w.bank, TEST_TENANT]
    return [s for s in watched if s in text]


# --- the sweep ---------------------------------------------------------------------------------------------


class TestIsolationSweep:
    @pytest.mark.parametrize(("aud", "refusals"), [("web", {404}), ("portal", {403, 404})])
    async def test_every_tenant_route_by_id_refuses_another_tenant_and_changes_nothing(
        self, stack: StackInfo, aud: str, refusals: set[int]
    ) -> None:
        operations = await _operations(stack)
        async with _client(stack, TEST_TENANT) as a, _client(stack, OTHER_TENANT, aud) as b:
            w = await _world(stack, a)
            before = await _state_of(a, w)
            kinds = w.by_kind()
            swept: list[str] = []
            wrong: list[str] = []
            for op in operations:
                if op.route.auth is not Auth.JWT or not op.path_params:
                    continue
                unknown = [p for p in op.path_params if p not in kinds and p != "artifact_id"]
                assert not unknown, f"{op.method} {op.template}: no tenant-A fixture for {unknown}"
                if "artifact_id" in op.path_params:
                    continue  # an artifact exists only with a generated pack: not swept here (see the report)
                path = op.template
                for name in op.path_params:
                    path = path.replace(f"{{{name}}}", kinds[name])
                headers = {"Idempotency-Key": f"iso-{uuid.uuid4().hex}"}
                resp = await b.request(op.method, path, headers=headers, **_body(op))
                swept.append(f"{op.method} {op.template}")
                if resp.status_code not in refusals or _leaks(resp, w):
                    wrong.append(f"{op.method} {op.template} -> {resp.status_code} {resp.text[:300]}")
            assert wrong == [], "\n".join(wrong)
            # every tenant route with a path id was swept (a new one joins by existing)
            assert len(swept) >= 45, swept
            assert await _state_of(a, w) == before

    async def test_lists_and_searches_show_another_tenant_nothing(self, stack: StackInfo) -> None:
        operations = await _operations(stack)
        async with _client(stack, TEST_TENANT) as a, _client(stack, OTHER_TENANT) as b:
            w = await _world(stack, a)
            kinds = w.by_kind()
            wrong: list[str] = []
            swept = 0
            for op in operations:
                if op.route.auth is not Auth.JWT or op.method != "GET" or op.path_params:
                    continue
                queries: list[dict[str, str]] = [{}]
                for p in op.spec.get("parameters", []):
                    if p.get("in") != "query":
                        continue
                    schema = _resolve(p.get("schema", {}), op.spec["_doc"])
                    options = [_resolve(o, op.spec["_doc"]) for o in schema.get("anyOf", [schema])]
                    if any(o.get("type") == "string" and "enum" not in o for o in options):
                        queries.append({p["name"]: kinds.get(p["name"], w.bank)})
                # plain, then A's id or search text in each text filter on its own (one bad filter's 400
                # must not hide another); a search or id filter must be answered, not refused
                for query in queries:
                    resp = await b.get(op.template, params=query)
                    swept += 1
                    must_answer = bool(set(query) & {"search", *kinds})
                    if (
                        resp.status_code >= 500
                        or (must_answer and not resp.is_success)
                        or (resp.is_success and _leaks(resp, w))
                    ):
                        wrong.append(f"GET {op.template} {query} -> {resp.status_code} {resp.text[:300]}")
            assert wrong == [], "\n".join(wrong)
            assert swept >= 10
            # and the same searches as A do find A's things (the filters are real)
            mine = await a.get(WO, params={"search": w.bank})
            assert w.work_order_id in mine.text, mine.text[:500]
            theirs = await a.get("/v1/service-invoices", params={"account_id": w.account_id})
            assert theirs.status_code == 200, theirs.text

    async def test_no_write_takes_a_reference_to_the_first_tenants_things(self, stack: StackInfo) -> None:
        """Generated: every tenant write whose body names a reference (account, work order, document,
        invoice, evidence item, subscription, evidence profile) is sent by tenant B, on B's own work order or
        invoice where the path names one, with tenant A's id in that field: refused, nothing of A's shown."""
        operations = await _operations(stack)
        async with _client(stack, TEST_TENANT) as a, _client(stack, OTHER_TENANT) as b:
            w = await _world(stack, a)
            before = await _state_of(a, w)
            refs = {**w.by_kind(), "service_invoice_id": w.invoice_id, "evidence_item_id": w.evidence_item_id}
            wo_b = _ok(
                await b.post(
                    WO, json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "B"}
                ),
                201,
            )
            inv_b = _ok(
                await b.post("/v1/service-invoices", json={"items": [{"description": "B", "unit_price": 5}]}),
                201,
            )
            own = {"work_order_id": str(wo_b["work_order_id"]), "invoice_id": str(inv_b["id"])}
            wrong: list[str] = []
            swept: list[str] = []
            for op in operations:
                if op.route.auth is not Auth.JWT or op.method == "GET" or not set(op.path_params) <= set(own):
                    continue
                content = op.spec.get("requestBody", {}).get("content", {})
                if "application/json" not in content:
                    continue
                schema = _resolve(content["application/json"]["schema"], op.spec["_doc"])
                # the schema's minimal body: the reference alone decides (no ``use_default`` beside a profile)
                body = example(schema, op.spec["_doc"])
                path = op.template
                for name in op.path_params:
                    path = path.replace(f"{{{name}}}", own[name])
                for name in sorted(set(schema.get("properties", {})) & set(refs)):
                    headers = {"Idempotency-Key": f"iso-{uuid.uuid4().hex}"}
                    resp = await b.request(op.method, path, json={**body, name: refs[name]}, headers=headers)
                    swept.append(f"{op.method} {op.template} {name}")
                    if resp.is_success or resp.status_code >= 500 or _leaks(resp, w):
                        wrong.append(
                            f"{op.method} {op.template} {name} -> {resp.status_code} {resp.text[:300]}"
                        )
            assert wrong == [], "\n".join(wrong)
            assert len(swept) >= 3, swept
            assert await _state_of(a, w) == before

    async def test_another_tenant_cannot_point_its_writes_at_the_first_tenants_things(
        self, stack: StackInfo
    ) -> None:
        async with _client(stack, TEST_TENANT) as a, _client(stack, OTHER_TENANT) as b:
            w = await _world(stack, a)
            before = await _state_of(a, w)
            invoice = await b.post(
                "/v1/service-invoices",
                json={"account_id": w.account_id, "items": [{"description": "theirs", "unit_price": 1}]},
            )
            assert invoice.status_code in (404, 409), invoice.text
            mine = _ok(
                await b.post(
                    WO, json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "B"}
                ),
                201,
            )
            wo_b = mine["work_order_id"]
            for item in (
                {"evidence_type": "PHOTO", "document_id": w.document_id},
                {"id": w.evidence_item_id, "evidence_type": "PHOTO"},
            ):
                resp = await b.post(f"{WO}/{wo_b}/evidence/link", json={"items": [item]})
                assert resp.status_code in (400, 404), (item, resp.text)
                assert not _leaks(resp, w), resp.text
            links = await b.post(
                f"{WO}/{wo_b}/field-evidence-links",
                json={"field_key": "property_address", "evidence_item_id": w.evidence_item_id},
            )
            assert links.status_code in (400, 404), links.text
            assert await _state_of(a, w) == before

    async def test_ops_routes_refuse_a_tenant_token_whatever_its_capabilities(self, stack: StackInfo) -> None:
        operations = [op for op in await _operations(stack) if op.route.auth is Auth.OPS]
        assert len(operations) >= 20
        async with _client(stack, TEST_TENANT) as a:
            w = await _world(stack, a)
        ids = {"work_order_id": w.work_order_id, "message_id": str(uuid.uuid4())}
        wrong: list[str] = []
        for aud in ("web", "portal"):
            async with _client(stack, OTHER_TENANT, aud) as b:
                for op in operations:
                    path = op.template
                    for name in op.path_params:
                        path = path.replace(f"{{{name}}}", ids[name])
                    resp = await b.request(op.method, path, **_body(op))
                    if resp.status_code not in (401, 403) or _leaks(resp, w):
                        wrong.append(
                            f"{aud} {op.method} {op.template} -> {resp.status_code} {resp.text[:200]}"
                        )
        assert wrong == []

    async def test_the_cli_with_a_tenant_token_gets_nothing(self, stack: StackInfo) -> None:
        async with _client(stack, TEST_TENANT) as a:
            w = await _world(stack, a)
        env = {
            **os.environ,
            "ZENOPS_GATEWAY_URL": stack.urls["gateway"],
            "ZENOPS_TOKEN": make_token(stack, tenant_id=OTHER_TENANT),
        }
        for args in (
            ["story", w.work_order_id],
            ["dlq", "list"],
            ["outbox"],
            ["sweep", "--dry-run", "--tenant", TEST_TENANT],
            ["gate", "replay", w.work_order_id],
        ):
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "zenops_cli", "--json", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            out = done.stdout + done.stderr
            assert not [s for s in (w.bank, TEST_TENANT) if s in out], (args, out)
