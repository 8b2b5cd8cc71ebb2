"""The embedded Postgres node and role provisioning, against a real server in a temporary state dir.

No skips: if the server cannot start, these tests fail.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from devstack.postgres import (
    PgEndpoint,
    PostgresNode,
    Secrets,
    provision,
    provision_async,
    service_dsns,
)

SERVICES = ("workorders", "evidence", "factory", "billing")


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pgstate")


@pytest.fixture(scope="module")
def node(state_dir: Path) -> Iterator[PostgresNode]:
    pg = PostgresNode(state_dir)
    started = time.monotonic()
    pg.start()
    first_start = time.monotonic() - started
    print(f"\npostgres first start (initdb + start + create db): {first_start:.2f}s")  # noqa: T201  timing for the reader (pytest -s)
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def secrets(node: PostgresNode) -> Secrets:
    provision(node.admin_dsn(), SERVICES, node.secrets)
    return node.secrets


async def _connect(endpoint: PgEndpoint, service: str, kind: str, secrets: Secrets) -> Any:
    return await asyncpg.connect(_asyncpg_dsn(service_dsns(endpoint, service, secrets)[kind]))


async def _each_refused(conn: Any, *statements: str) -> None:
    """Every statement fails for lack of privilege (each on its own: a refusal aborts nothing else)."""
    for sql in statements:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(sql)


@pytest.fixture
async def admin(node: PostgresNode, secrets: Secrets) -> AsyncIterator[Any]:  # noqa: ARG001  requested so the roles are provisioned first
    conn = await asyncpg.connect(node.admin_dsn())
    yield conn
    await conn.close()


class TestNode:
    def test_start_is_idempotent_and_listens_on_loopback(self, node: PostgresNode) -> None:
        assert node.is_running()
        pid = node.postmaster_pid()
        endpoint = node.start()
        assert endpoint == PgEndpoint(host="127.0.0.1", port=node.port, database="zenops")
        assert node.postmaster_pid() == pid
        assert node.bin_path("pgbench").exists()

    def test_secrets_file_is_private(self, node: PostgresNode, state_dir: Path) -> None:
        assert (state_dir / "secrets.json").stat().st_mode & 0o777 == 0o600
        assert node.log_file == state_dir / "logs" / "postgres.log"
        assert node.log_file.exists()

    async def test_server_settings(self, admin: Any) -> None:
        assert await admin.fetchval("SHOW max_connections") == "200"
        assert await admin.fetchval("SHOW shared_buffers") == "256MB"
        assert await admin.fetchval("SHOW fsync") == "on"
        assert await admin.fetchval("SHOW listen_addresses") == "127.0.0.1"

    @pytest.mark.usefixtures("secrets")
    async def test_wrong_password_is_rejected(self, node: PostgresNode) -> None:
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(
                host="127.0.0.1", port=node.port, user="billing_app", password="wrong", database="zenops"
            )


class TestRoles:
    async def test_login_roles_are_neither_superuser_nor_bypassrls(self, admin: Any) -> None:
        rows = await admin.fetch(
            "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname LIKE ANY($1)",
            [f"{s}\\_%" for s in SERVICES],
        )
        assert len(rows) == 12
        for row in rows:
            assert not row["rolsuper"], row
            assert not row["rolbypassrls"], row
            assert not row["rolcreaterole"], row
            assert not row["rolcreatedb"], row

    async def test_schemas_are_owned_by_owner_roles(self, admin: Any) -> None:
        owners = dict(
            await admin.fetch(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1)",
                list(SERVICES),
            )
        )
        assert owners == {s: f"{s}_owner" for s in SERVICES}

    async def test_app_role_cannot_create_tables_or_see_other_schemas(
        self, node: PostgresNode, secrets: Secrets
    ) -> None:
        conn = await _connect(node.endpoint, "billing", "app", secrets)
        try:
            assert await conn.fetchval("SELECT current_schemas(false)") == ["billing"]
            assert not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            assert not await conn.fetchval("SELECT pg_has_role('billing_owner', 'MEMBER')")
            await _each_refused(
                conn,
                "CREATE TABLE billing.sneaky (id int)",
                "CREATE TABLE public.sneaky (id int)",
                "CREATE TABLE workorders.sneaky (id int)",
                "SELECT * FROM workorders.probe",
            )
        finally:
            await conn.close()

    async def test_owner_creates_and_app_system_use_through_default_privileges(
        self, node: PostgresNode, secrets: Secrets
    ) -> None:
        owner = await _connect(node.endpoint, "workorders", "owner", secrets)
        try:
            # Unqualified: search_path puts it in the owner's own schema.
            await owner.execute(
                "CREATE TABLE probe (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)"
            )
            assert await owner.fetchval("SELECT 'workorders.probe'::regclass::text") == "probe"
        finally:
            await owner.close()
        for kind in ("app", "system"):
            conn = await _connect(node.endpoint, "workorders", kind, secrets)
            try:
                new_id = await conn.fetchval("INSERT INTO probe (v) VALUES ($1) RETURNING id", kind)
                await conn.execute("UPDATE probe SET v = v || '!' WHERE id = $1", new_id)
                assert await conn.fetchval("SELECT v FROM probe WHERE id = $1", new_id) == f"{kind}!"
                await _each_refused(conn, "DROP TABLE probe", "ALTER TABLE probe DISABLE ROW LEVEL SECURITY")
            finally:
                await conn.close()
        other = await _connect(node.endpoint, "evidence", "system", secrets)
        try:
            await _each_refused(other, "SELECT * FROM workorders.probe")
        finally:
            await other.close()

    async def test_provisioning_again_changes_nothing(
        self, node: PostgresNode, secrets: Secrets, admin: Any
    ) -> None:
        snapshot_sql = """
            SELECT
              (SELECT array_agg(a.rolname || ':' || coalesce(a.rolpassword, '') ORDER BY a.rolname)
                 FROM pg_authid a WHERE a.rolname LIKE '%\\_owner' OR a.rolname LIKE '%\\_app'
                 OR a.rolname LIKE '%\\_system')::text,
              (SELECT array_agg(n.nspname || ':' || coalesce(n.nspacl::text, '') ORDER BY n.nspname)
                 FROM pg_namespace n)::text,
              (SELECT array_agg(d.defaclacl::text ORDER BY d.oid) FROM pg_default_acl d)::text,
              (SELECT datacl::text FROM pg_database WHERE datname = current_database()),
              (SELECT array_agg(s.setconfig::text ORDER BY s.setrole) FROM pg_db_role_setting s)::text
        """
        before = await admin.fetchrow(snapshot_sql)
        await provision_async(node.admin_dsn(), SERVICES, secrets)
        assert await admin.fetchrow(snapshot_sql) == before


class TestRestart:
    async def test_restart_keeps_data_and_port(self, node: PostgresNode, secrets: Secrets) -> None:
        owner = await _connect(node.endpoint, "factory", "owner", secrets)
        try:
            await owner.execute("CREATE TABLE kept (v text)")
            await owner.execute("INSERT INTO kept VALUES ('survives restart')")
        finally:
            await owner.close()
        port, old_pid = node.port, node.postmaster_pid()

        started = time.monotonic()
        node.stop()
        stopped = time.monotonic()
        assert not node.is_running()
        endpoint = node.start()
        restarted = time.monotonic()
        print(f"\npostgres stop: {stopped - started:.2f}s, restart: {restarted - stopped:.2f}s")  # noqa: T201  timing for the reader (pytest -s)

        assert endpoint.port == port
        assert node.postmaster_pid() != old_pid
        conn = await _connect(endpoint, "factory", "app", secrets)
        try:
            assert await conn.fetchval("SELECT v FROM kept") == "survives restart"
        finally:
            await conn.close()

    def test_a_fresh_node_object_sees_the_same_server(self, node: PostgresNode, state_dir: Path) -> None:
        again = PostgresNode(state_dir)
        assert again.is_running()
        assert again.port == node.port
        assert again.admin_dsn() == node.admin_dsn()
