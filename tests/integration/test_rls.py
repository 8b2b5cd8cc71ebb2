"""Row-level security proof (architecture §6, domain.md §10.3): a second tenant sees nothing.

A work order is created through the gateway as tenant A; then, connected as the workorders *app* role
with ``app.tenant_id`` = tenant B (exactly what ``tenant_uow`` does per transaction), none of A's rows is
visible and no row can be written for A. The app role neither owns the tables nor bypasses RLS; the
*system* role sees both tenants.
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
from devstack.testing.gateway import create_account

pytestmark = pytest.mark.stack


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def _connect(stack: StackInfo, kind: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(_asyncpg_dsn(stack.dsns["workorders"][kind]))
    try:
        yield conn
    finally:
        await conn.close()


async def _create_work_order(stack: StackInfo, tenant: str) -> str:
    token = make_token(stack, tenant_id=tenant)
    async with httpx.AsyncClient(
        base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        resp = await client.post(
            "/v1/repogen/work-orders",
            json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "RLS Bank"},
        )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["work_order_id"])


async def _as_tenant(conn: asyncpg.Connection, tenant: str) -> None:
    # the unit of work names the audience too; the app role's audience policies fail closed without one
    await conn.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.aud', 'web', true)", tenant
    )


class TestTenantIsolation:
    async def test_second_tenant_sees_nothing_and_cannot_write_for_the_first(self, stack: StackInfo) -> None:
        wo_a = await _create_work_order(stack, TEST_TENANT)
        wo_b = await _create_work_order(stack, OTHER_TENANT)

        async with _connect(stack, "system") as system:
            row_a = await system.fetchrow(
                "SELECT * FROM workorders.work_orders WHERE id = $1", uuid.UUID(wo_a)
            )
            seen_by_system = await system.fetchval(
                "SELECT count(*) FROM workorders.work_orders WHERE id = ANY($1::uuid[])",
                [uuid.UUID(wo_a), uuid.UUID(wo_b)],
            )
        assert row_a is not None
        assert seen_by_system == 2  # the system role's explicit cross-tenant policy

        async with _connect(stack, "app") as app:
            async with app.transaction():
                await _as_tenant(app, OTHER_TENANT)
                by_id = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE id = $1", uuid.UUID(wo_a)
                )
                of_a = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE tenant_id = $1", uuid.UUID(TEST_TENANT)
                )
                own = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE id = $1", uuid.UUID(wo_b)
                )
                updated = await app.execute(
                    "UPDATE workorders.work_orders SET bank_name = 'hijacked' WHERE id = $1", uuid.UUID(wo_a)
                )
            assert (by_id, of_a, own) == (0, 0, 1)
            assert updated == "UPDATE 0"

            # a copy of A's row with a new id, inserted while acting as tenant B
            values: dict[str, Any] = dict(row_a)
            values["id"] = uuid.uuid4()
            columns = ", ".join(values)
            params = ", ".join(f"${i}" for i in range(1, len(values) + 1))

            async def insert_copy_as_other_tenant() -> None:
                async with app.transaction():
                    await _as_tenant(app, OTHER_TENANT)
                    await app.execute(
                        f"INSERT INTO workorders.work_orders ({columns}) VALUES ({params})", *values.values()
                    )

            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await insert_copy_as_other_tenant()

            # no tenant set at all: nothing is visible either
            async with app.transaction():
                unscoped = await app.fetchval("SELECT count(*) FROM workorders.work_orders")
            assert unscoped == 0

            # positive control: as tenant A the same role sees A's row
            async with app.transaction():
                await _as_tenant(app, TEST_TENANT)
                mine = await app.fetchval(
                    "SELECT count(*) FROM workorders.work_orders WHERE id = $1", uuid.UUID(wo_a)
                )
            assert mine == 1

        async with _connect(stack, "system") as system:
            hijacked = await system.fetchval(
                "SELECT count(*) FROM workorders.work_orders WHERE bank_name = 'hijacked'"
            )
        assert hijacked == 0

    async def test_login_roles_are_neither_owner_nor_superuser(self, stack: StackInfo) -> None:
        async with _connect(stack, "app") as app:
            me = await app.fetchrow(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            owned = await app.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'workorders' AND tableowner = current_user"
            )
            rls_off = await app.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'workorders' AND c.relkind = 'r' AND c.relname = 'work_orders' "
                "AND NOT c.relrowsecurity"
            )
        assert me is not None
        assert me["rolname"] == "workorders_app"
        assert (me["rolsuper"], me["rolbypassrls"]) == (False, False)
        assert owned == 0
        assert rls_off == []
        async with _connect(stack, "system") as system:
            sys_role = await system.fetchrow(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            sys_owned = await system.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'workorders' AND tableowner = current_user"
            )
        assert sys_role is not None
        assert (sys_role["rolsuper"], sys_role["rolbypassrls"], sys_owned) == (False, False, 0)


#: every service-invoice table of billing (issue 15): each has tenant RLS for the app role
INVOICE_TABLES = (
    "service_invoices",
    "service_invoice_items",
    "service_invoice_payments",
    "service_invoice_adjustments",
    "service_invoice_attachments",
    "service_invoice_audit_logs",
    "service_idempotency_keys",
)


class TestInvoiceTenantIsolation:
    """Service invoices (issue 15): tenant B neither sees nor changes tenant A's invoice, over HTTP through
    the gateway on every route, and in the database as billing's app role."""

    async def test_second_tenant_gets_404_everywhere_and_changes_nothing(self, stack: StackInfo) -> None:
        def client(tenant: str) -> httpx.AsyncClient:
            headers = {"authorization": f"Bearer {make_token(stack, tenant_id=tenant)}"}
            return httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30)

        async with client(TEST_TENANT) as a, client(OTHER_TENANT) as b:
            made = await a.post(
                "/v1/service-invoices", json={"items": [{"description": "RLS", "unit_price": 50}]}
            )
            assert made.status_code == 201, made.text
            iid = made.json()["id"]
            issued = await a.post(f"/v1/service-invoices/{iid}/issue")
            assert issued.status_code == 201, issued.text
            paid = await a.post(f"/v1/service-invoices/{iid}/payments", json={"amount": 10})
            assert paid.status_code == 201, paid.text
            before = (await a.get(f"/v1/service-invoices/{iid}")).json()

            for base in ("/v1/service-invoices", "/v1/invoices"):
                listed = await b.get(base)
                assert listed.status_code == 200, listed.text
                assert iid not in {i["id"] for i in listed.json()}
                for path in ("", "/context", "/pdf"):
                    resp = await b.get(f"{base}/{iid}{path}")
                    assert (resp.status_code, resp.json()["code"]) == (404, "INVOICE_NOT_FOUND"), path
                writes: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
                    ("PATCH", "", {"notes": "hijacked"}, {}),
                    ("POST", "/issue", None, {}),
                    ("POST", "/send", None, {}),
                    ("POST", "/void", {"reason": "hijacked"}, {}),
                    ("POST", "/payments", {"amount": 40}, {}),
                    ("POST", "/mark-paid", None, {}),
                    ("POST", "/adjustments", {"amount": 40}, {}),
                    ("POST", "/remind", None, {"Idempotency-Key": "rls"}),
                    ("POST", "/payment-proof", {"original_name": "x.pdf", "storage_key": "sha256/x"}, {}),
                ]
                for method, path, body, headers in writes:
                    resp = await b.request(method, f"{base}/{iid}{path}", json=body, headers=headers)
                    assert (resp.status_code, resp.json()["code"]) == (404, "INVOICE_NOT_FOUND"), path
            assert (await a.get(f"/v1/service-invoices/{iid}")).json() == before

        conn = await asyncpg.connect(_asyncpg_dsn(stack.dsns["billing"]["app"]))
        try:
            async with conn.transaction():
                await _as_tenant(conn, OTHER_TENANT)
                seen = {
                    table: await conn.fetchval(
                        f"SELECT count(*) FROM billing.{table} WHERE tenant_id = $1", uuid.UUID(TEST_TENANT)
                    )
                    for table in INVOICE_TABLES
                }
                updated = await conn.execute(
                    "UPDATE billing.service_invoices SET notes = 'hijacked' WHERE id = $1", uuid.UUID(iid)
                )
            rls_off = await conn.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'billing' AND c.relname = ANY($1::text[]) AND NOT c.relrowsecurity",
                list(INVOICE_TABLES),
            )
        finally:
            await conn.close()
        assert seen == dict.fromkeys(INVOICE_TABLES, 0)
        assert updated == "UPDATE 0"
        assert rls_off == []


SUBSCRIPTION_TABLES = ("subscriptions", "subscription_events")


class TestSubscriptionTenantIsolation:
    """Subscriptions (issue 16): tenant B reads neither tenant A's current subscription through the gateway nor
    its rows as billing's app role, and cannot change them."""

    async def test_second_tenant_sees_and_changes_nothing(self, stack: StackInfo) -> None:
        def client(tenant: str, aud: str = "web") -> httpx.AsyncClient:
            headers = {"authorization": f"Bearer {make_token(stack, tenant_id=tenant, aud=aud)}"}
            return httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30)

        key = f"v2:external:rls-{uuid.uuid4().hex[:12]}"
        async with client(TEST_TENANT, "studio") as studio, client(OTHER_TENANT) as b:
            account_id = await create_account(studio, display_name="RLS subscription", external_key=key)
            made = await studio.post(
                "/v1/control/subscriptions",
                json={
                    "tenant_id": TEST_TENANT,
                    "account_id": account_id,
                    "plan_name": f"plan-rls-{uuid.uuid4().hex[:10]}",
                    "monthly_credit_grant": 3,
                },
            )
            assert made.status_code == 201, made.text
            sid = made.json()["id"]
            theirs = await b.get("/v1/billing/subscription")
            assert theirs.status_code == 200, theirs.text
            assert theirs.json() is None or theirs.json()["tenant_id"] == OTHER_TENANT

        conn = await asyncpg.connect(_asyncpg_dsn(stack.dsns["billing"]["app"]))
        try:
            async with conn.transaction():
                await _as_tenant(conn, OTHER_TENANT)
                seen = await conn.fetchval(
                    "SELECT count(*) FROM billing.subscriptions WHERE id = $1", uuid.UUID(sid)
                )
                updated = await conn.execute(
                    "UPDATE billing.subscriptions SET status = 'cancelled' WHERE id = $1", uuid.UUID(sid)
                )
            rls_off = await conn.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'billing' AND c.relname = ANY($1::text[]) AND NOT c.relrowsecurity",
                list(SUBSCRIPTION_TABLES),
            )
        finally:
            await conn.close()
        assert (seen, updated, rls_off) == (0, "UPDATE 0", [])
