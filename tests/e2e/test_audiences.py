"""Audience scoping (issue 12 item 3, domain.md §10, decision "Hardening (issue 12): audience").

Every audience through the real gateway on the real stack, then the same rule proven in the database:

- portal: only CHANNEL work orders its own user created (create, read, list, comment); a TENANT or EXTERNAL
  work order of its own tenant — or another portal user's CHANNEL one — is answered 404 as if it did not
  exist; no contract/status changes, no export, no evidence, no pack view, no create-pack or release, no
  billing view, no control plane; deliverable downloads only for its own work orders (locked until release);
- web, worker, service: every work order of their own tenant, none of another tenant; no control plane;
  factory-operator commands only with an operator role;
- studio: as web for its tenant (packs readable — the studio's read access is kept, tenant-scoped), a
  factory operator, and the control plane.

The database test connects as ``workorders_app`` / ``evidence_app`` / ``factory_app`` exactly as the unit of
work does (``app.tenant_id``, ``app.user_id``, ``app.aud`` per transaction) and shows the restrictive
policies hold without any service code in between, and that an app-role transaction naming no audience
sees nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.fixtures import OTHER_TENANT, TEST_TENANT, make_token
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

WO_LIST = "/v1/repogen/work-orders"
PORTAL_TOKEN: dict[str, Any] = {"aud": "portal", "roles": ("portal_user",), "capabilities": ()}


def _client(stack: StackInfo, **token: Any) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {make_token(stack, **token)}"}
    return httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30)


def _portal(stack: StackInfo, user_id: str, tenant_id: str = TEST_TENANT) -> httpx.AsyncClient:
    return _client(stack, user_id=user_id, tenant_id=tenant_id, **PORTAL_TOKEN)


async def _create(client: httpx.AsyncClient, source_type: str, bank: str = "Audience Bank") -> str:
    resp = await client.post(
        WO_LIST, json={"source_type": source_type, "report_type": "VALUATION", "bank_name": bank}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["work_order_id"])


def _code(resp: httpx.Response) -> tuple[int, str]:
    body = resp.json()
    assert set(body) == {"code", "message", "details"}, body
    return resp.status_code, str(body["code"])


class TestPortal:
    async def test_portal_reaches_only_its_own_channel_work_orders(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        me, someone_else = str(uuid.uuid4()), str(uuid.uuid4())
        tenant_wo = await _create(gateway, "TENANT")
        external_wo = await _create(gateway, "EXTERNAL")
        async with _portal(stack, me) as portal, _portal(stack, someone_else) as other_portal:
            # creating: CHANNEL only, owned by the caller
            for source in ("TENANT", "EXTERNAL"):
                refused = await portal.post(
                    WO_LIST, json={"source_type": source, "report_type": "VALUATION", "bank_name": "X"}
                )
                assert _code(refused) == (403, "PORTAL_SOURCE_TYPE_FORBIDDEN")
            mine = await _create(portal, "CHANNEL", bank="Portal Bank")
            theirs = await _create(other_portal, "CHANNEL", bank="Other Portal Bank")

            # reading, listing, commenting on its own CHANNEL work order
            detail = await portal.get(f"{WO_LIST}/{mine}")
            assert detail.status_code == 200, detail.text
            assert detail.json()["work_order"]["source_type"] == "CHANNEL"
            assert detail.json()["work_order"]["created_by_user_id"] == me
            comment = await portal.post(
                f"{WO_LIST}/{mine}/comments", json={"comment_type": "NOTES", "body": "from the portal"}
            )
            assert comment.status_code == 201, comment.text
            comments = await portal.get(f"{WO_LIST}/{mine}/comments")
            assert [c["body"] for c in comments.json()["items"]] == ["from the portal"]
            listed = await portal.get(WO_LIST, params={"limit": 100})
            assert listed.status_code == 200
            ids = {item["id"] for item in listed.json()["items"]}
            assert mine in ids
            assert not ids & {tenant_wo, external_wo, theirs}
            assert {item["source_type"] for item in listed.json()["items"]} == {"CHANNEL"}
            assert {item["created_by_user_id"] for item in listed.json()["items"]} == {me}
            filtered = await portal.get(WO_LIST, params={"source_type": "TENANT"})
            assert filtered.json()["items"] == []

            # TENANT / EXTERNAL work orders of its own tenant and other users' CHANNEL ones do not exist
            for wo in (tenant_wo, external_wo, theirs):
                assert _code(await portal.get(f"{WO_LIST}/{wo}")) == (404, "WORK_ORDER_NOT_FOUND")
                assert _code(await portal.get(f"{WO_LIST}/{wo}/comments")) == (404, "WORK_ORDER_NOT_FOUND")
                posted = await portal.post(
                    f"{WO_LIST}/{wo}/comments", json={"comment_type": "NOTES", "body": "sneaky"}
                )
                assert _code(posted) == (404, "WORK_ORDER_NOT_FOUND")

            # no changes, no export, even on its own work order
            patch = await portal.patch(f"{WO_LIST}/{mine}/contract", json={"patch": {}})
            assert _code(patch) == (403, "PORTAL_WORK_ORDER_CHANGE_FORBIDDEN")
            status = await portal.post(f"{WO_LIST}/{mine}/status", json={"status": "EVIDENCE_PENDING"})
            assert _code(status) == (403, "PORTAL_WORK_ORDER_CHANGE_FORBIDDEN")
            assert _code(await portal.get(f"{WO_LIST}/{mine}/export")) == (403, "PORTAL_EXPORT_FORBIDDEN")

        # nothing changed: staff still see the portal's work order as DRAFT, no comment on theirs
        staff_view = await gateway.get(f"{WO_LIST}/{mine}")
        assert staff_view.status_code == 200, staff_view.text  # staff see CHANNEL work orders too
        assert staff_view.json()["work_order"]["status"] == "DRAFT"
        assert (await gateway.get(f"{WO_LIST}/{tenant_wo}/comments")).json()["items"] == []
        assert (await gateway.get(f"{WO_LIST}/{theirs}/comments")).json()["items"] == []

    async def test_portal_has_no_evidence_factory_release_billing_or_control_plane(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        me = str(uuid.uuid4())
        tenant_wo = await _create(gateway, "TENANT")
        async with _portal(stack, me) as portal:
            mine = await _create(portal, "CHANNEL")
            wo = f"{WO_LIST}/{mine}"
            answers = {
                "evidence checklist": await portal.get(f"{wo}/evidence-checklist"),
                "evidence link": await portal.post(
                    f"{wo}/evidence/link", json={"items": [{"evidence_type": "PHOTO"}]}
                ),
                "field links": await portal.get(f"{wo}/field-evidence-links"),
                "pack view": await portal.get(f"{wo}/pack"),
                "releases": await portal.get(f"{wo}/releases"),
                "create-pack": await portal.post(f"{wo}/create-pack", json={}),
                "release": await portal.post(f"{wo}/release-deliverables", json={"idempotency_key": "k"}),
                "billing view": await portal.get(f"/v1/billing/work-orders/{mine}"),
                "control plane": await portal.get("/v1/control/tenant"),
                "service token route": await portal.get(
                    "/v1/billing/accounts/status", params={"external_key": "v1:partner:x"}
                ),
            }

            # downloads: its own work order is known to the factory (no pack yet); a TENANT one is not
            async def projected() -> bool:
                resp = await portal.get(f"{wo}/evidence-pack")
                return resp.status_code != 404

            await eventually(projected, "the portal's work order to reach the factory", within_s=60)
            own_download = await portal.get(f"{wo}/evidence-pack")
            tenant_download = await portal.get(f"{WO_LIST}/{tenant_wo}/evidence-pack")
        expected = {
            "evidence checklist": (403, "PORTAL_EVIDENCE_FORBIDDEN"),
            "evidence link": (403, "PORTAL_EVIDENCE_FORBIDDEN"),
            "field links": (403, "PORTAL_EVIDENCE_FORBIDDEN"),
            "pack view": (403, "PORTAL_FACTORY_FORBIDDEN"),
            "releases": (403, "PORTAL_FACTORY_FORBIDDEN"),
            # domain.md §10.2: the portal is never a factory operator
            "create-pack": (403, "FACTORY_OPERATOR_ROLE_REQUIRED"),
            "release": (403, "FACTORY_OPERATOR_ROLE_REQUIRED"),
            "billing view": (403, "PORTAL_BILLING_FORBIDDEN"),
            "control plane": (401, "AUDIENCE_MISMATCH"),
            "service token route": (401, "INVALID_STUDIO_SERVICE_TOKEN"),
        }
        assert {name: _code(resp) for name, resp in answers.items()} == expected
        assert _code(own_download) == (400, "REPORT_PACK_NOT_LINKED")
        assert _code(tenant_download) == (404, "WORK_ORDER_NOT_FOUND")
        # the refused writes wrote nothing
        releases = await gateway.get(f"{WO_LIST}/{mine}/releases")
        assert releases.status_code == 200, releases.text
        assert releases.json()["items"] == []

        async def evidence_projected() -> bool:
            return (await gateway.get(f"{WO_LIST}/{mine}/evidence")).status_code == 200

        await eventually(evidence_projected, "the work order to reach evidence", within_s=60)
        evidence = await gateway.get(f"{WO_LIST}/{mine}/evidence")
        assert evidence.json()["evidence_items"] == []


class TestStaffAudiences:
    @pytest.mark.parametrize("aud", ["web", "worker", "service"])
    async def test_tenant_audiences_see_their_tenant_only_and_no_control_plane(
        self, gateway: httpx.AsyncClient, stack: StackInfo, aud: str
    ) -> None:
        tenant_wo = await _create(gateway, "TENANT")
        async with _client(stack, tenant_id=OTHER_TENANT) as other_tenant:
            foreign_wo = await _create(other_tenant, "TENANT")
        async with (
            _client(stack, aud=aud) as client,
            _client(stack, aud=aud, roles=(), capabilities=(), user_id=str(uuid.uuid4())) as plain,
        ):
            own = await client.get(f"{WO_LIST}/{tenant_wo}")
            listed = {i["id"] for i in (await client.get(WO_LIST, params={"limit": 100})).json()["items"]}
            foreign = await client.get(f"{WO_LIST}/{foreign_wo}")
            comment = await client.post(
                f"{WO_LIST}/{tenant_wo}/comments", json={"comment_type": "NOTES", "body": aud}
            )
            control = await client.get("/v1/control/tenant")
            # factory operator commands need an operator role (the web dev fallback aside)
            no_role = await plain.post(f"{WO_LIST}/{tenant_wo}/create-pack", json={})
        assert own.status_code == 200, own.text
        assert tenant_wo in listed
        assert foreign_wo not in listed
        assert _code(foreign) == (404, "WORK_ORDER_NOT_FOUND")
        assert comment.status_code == 201, comment.text
        assert _code(control) == (401, "AUDIENCE_MISMATCH")
        if aud == "web":
            assert no_role.status_code != 403  # dev fallback: a role-less web token is an operator
        else:
            assert _code(no_role) == (403, "FACTORY_OPERATOR_ROLE_REQUIRED")

    async def test_studio_reads_packs_operates_the_factory_and_the_control_plane(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        tenant_wo = await _create(gateway, "TENANT")
        async with _client(stack, aud="studio") as studio:
            own = await studio.get(f"{WO_LIST}/{tenant_wo}")

            async def pack_readable() -> bool:
                return (await studio.get(f"{WO_LIST}/{tenant_wo}/pack")).status_code == 200

            await eventually(pack_readable, "the pack view to answer", within_s=60)
            # an operator: the request passes the check and meets the pack precondition instead
            create = await studio.post(f"{WO_LIST}/{tenant_wo}/create-pack", json={})
            control = await studio.get("/v1/control/tenant")
        assert own.status_code == 200, own.text
        assert _code(create) == (400, "PACK_CREATION_REQUIRES_READY_FOR_RENDER")
        assert control.status_code == 200, control.text


# ------------------------------------------------------------------------------------------ the database


def _dsn(stack: StackInfo, service: str, kind: str) -> str:
    return stack.dsns[service][kind].replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def _connect(stack: StackInfo, service: str, kind: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(_dsn(stack, service, kind))
    try:
        yield conn
    finally:
        await conn.close()


async def _scope(conn: asyncpg.Connection, *, aud: str | None, user_id: str | None) -> None:
    """What the unit of work sets per transaction (aud ``None`` = an app-role transaction naming none)."""
    await conn.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true), "
        "set_config('app.aud', $3, true)",
        TEST_TENANT,
        user_id or "",
        aud or "",
    )


class TestAudienceRls:
    async def test_portal_policies_hold_in_the_database(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        me = str(uuid.uuid4())
        tenant_wo = await _create(gateway, "TENANT")
        await gateway.post(f"{WO_LIST}/{tenant_wo}/comments", json={"comment_type": "NOTES", "body": "staff"})
        async with _portal(stack, me) as portal:
            mine = await _create(portal, "CHANNEL")
        ids = [uuid.UUID(tenant_wo), uuid.UUID(mine)]

        # wait until evidence and factory projected both work orders (system role sees everything)
        async def projected() -> bool:
            async with (
                _connect(stack, "evidence", "system") as ev,
                _connect(stack, "factory", "system") as fa,
            ):
                n_ev = await ev.fetchval(
                    "SELECT count(*) FROM evidence.work_orders WHERE work_order_id = ANY($1::uuid[])", ids
                )
                n_fa = await fa.fetchval(
                    "SELECT count(*) FROM factory.work_orders WHERE work_order_id = ANY($1::uuid[]) "
                    "AND source_type IS NOT NULL",
                    ids,
                )
            return bool(n_ev == 2 and n_fa == 2)

        await eventually(projected, "both work orders to reach evidence and factory", within_s=60)

        async with _connect(stack, "workorders", "app") as app:
            async with app.transaction():
                await _scope(app, aud="portal", user_id=me)
                seen = await app.fetch(
                    "SELECT id, source_type FROM workorders.work_orders WHERE id = ANY($1::uuid[])", ids
                )
                tenant_rows = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE source_type <> 'CHANNEL'"
                )
                foreign_comments = await app.fetchval(
                    "SELECT count(*) FROM workorders.comments WHERE work_order_id = $1", uuid.UUID(tenant_wo)
                )
                updated = await app.execute(
                    "UPDATE workorders.work_orders SET bank_name = 'hijacked' WHERE id = $1",
                    uuid.UUID(tenant_wo),
                )
                deleted = await app.execute(
                    "DELETE FROM workorders.comments WHERE work_order_id = $1", uuid.UUID(mine)
                )
            assert [(str(r["id"]), r["source_type"]) for r in seen] == [(mine, "CHANNEL")]
            assert (tenant_rows, foreign_comments, updated, deleted) == (0, 0, "UPDATE 0", "DELETE 0")

            tenant = uuid.UUID(TEST_TENANT)
            insert_work_order = (
                "INSERT INTO workorders.work_orders (id, tenant_id, source_type, report_type, "
                "bank_name, created_by_user_id) VALUES ($1, $2, $3, 'VALUATION', 'x', $4)"
            )
            refused_writes: list[tuple[str, tuple[Any, ...]]] = [
                # the portal cannot write a TENANT work order, nor a CHANNEL one in another user's name
                (insert_work_order, (uuid.uuid4(), tenant, "TENANT", uuid.UUID(me))),
                (insert_work_order, (uuid.uuid4(), tenant, "CHANNEL", uuid.uuid4())),
                # nor a comment on a TENANT work order
                (
                    "INSERT INTO workorders.comments (id, tenant_id, work_order_id, comment_type, body) "
                    "VALUES ($1, $2, $3, 'NOTES', 'x')",
                    (uuid.uuid4(), tenant, uuid.UUID(tenant_wo)),
                ),
            ]

            async def write_as_portal(sql: str, args: tuple[Any, ...]) -> None:
                async with app.transaction():
                    await _scope(app, aud="portal", user_id=me)
                    await app.execute(sql, *args)

            for sql, args in refused_writes:
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                    await write_as_portal(sql, args)

            # fail closed: an app-role transaction naming no audience sees nothing; web sees both
            async with app.transaction():
                await _scope(app, aud=None, user_id=me)
                unnamed = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE id = ANY($1::uuid[])", ids
                )
            async with app.transaction():
                await _scope(app, aud="web", user_id=me)
                staff = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE id = ANY($1::uuid[])", ids
                )
            assert (unnamed, staff) == (0, 2)

        # evidence: nothing at all for the portal; factory: only its own CHANNEL work order
        async with _connect(stack, "evidence", "app") as ev, _connect(stack, "factory", "app") as fa:
            counts: dict[str, Any] = {}
            for aud in ("portal", "web"):
                async with ev.transaction():
                    await _scope(ev, aud=aud, user_id=me)
                    counts[f"evidence:{aud}"] = await ev.fetchval(
                        "SELECT count(*) FROM evidence.work_orders WHERE work_order_id = ANY($1::uuid[])", ids
                    )
                async with fa.transaction():
                    await _scope(fa, aud=aud, user_id=me)
                    counts[f"factory:{aud}"] = [
                        str(r["work_order_id"])
                        for r in await fa.fetch(
                            "SELECT work_order_id FROM factory.work_orders "
                            "WHERE work_order_id = ANY($1::uuid[]) ORDER BY source_type",
                            ids,
                        )
                    ]
        assert counts == {
            "evidence:portal": 0,
            "evidence:web": 2,
            "factory:portal": [mine],
            "factory:web": [mine, tenant_wo],
        }

        async with _connect(stack, "workorders", "system") as system:
            hijacked = await system.fetchval(
                "SELECT count(*) FROM workorders.work_orders WHERE bank_name = 'hijacked'"
            )
            kept = await system.fetchval(
                "SELECT count(*) FROM workorders.comments WHERE work_order_id = $1", uuid.UUID(tenant_wo)
            )
        assert (hijacked, kept) == (0, 1)
