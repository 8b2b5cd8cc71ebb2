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
