"""Run a service's Alembic migrations programmatically, as the schema's owner role."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import MetaData


def alembic_config(migrations_dir: Path, owner_url: str, schema: str) -> Config:
    """An Alembic config pointing at a service's ``migrations`` folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def upgrade_head(migrations_dir: Path, owner_url: str, schema: str) -> None:
    """``alembic upgrade head`` for one service."""
    command.upgrade(alembic_config(migrations_dir, owner_url, schema), "head")


def run_env(config: Config, target_metadata: MetaData | None = None) -> None:
    """Body of every service's ``migrations/env.py`` (online mode, async engine).

    The version table lives in the service's own schema, so services never see each other's history.
    """
    schema = config.attributes.get("schema") or config.get_main_option("schema") or "public"
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise ValueError(f"no database URL for the migrations of schema {schema!r} (ZENOPS_DB_OWNER_URL)")

    from alembic import context

    def _do(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def _run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(_do)
            await conn.commit()
        await engine.dispose()

    asyncio.run(_run())


# --- revision helpers: what every service's migrations share ---------------------------------------
# Called from inside an Alembic revision (``op`` is bound to the running migration context).


def run_sql(statements: Iterable[str]) -> None:
    """Execute DDL statements in the running migration, in order."""
    from alembic import op

    for statement in statements:
        op.execute(statement)


#: the tables every schema has: those :func:`finish_schema` creates (messaging, parking, heartbeat) and the
#: ops audit
SHARED_TABLES = frozenset(
    {
        "outbox",
        "inbox",
        "consumer_versions",
        "parked_messages",
        "idempotency_keys",
        "unsendable_messages",
        "stream_heartbeats",
        "ops_actions",  # revision 0002 of every service (shared.messaging.schema.ops_tables_sql)
        "consumer_counters",  # issue 19: shared.messaging.schema.counters_tables_sql
    }
)


def finish_schema(
    schema: str,
    *,
    tenant_tables: Sequence[str],
    portal: Mapping[str, tuple[str, str]] | None = None,
    append_only: Mapping[str, str] | None = None,
) -> None:
    """The tail of a service's first revision, the same in every service.

    * the messaging tables: outbox, inbox, parking and the relay's unsendable messages;
    * the stream process's heartbeat table (``/readyz``, :mod:`shared.health`);
    * tenant RLS on every tenant table, and on top of it the restrictive audience policies
      (:func:`shared.db.rls.audience_rls_sql`): ``portal`` maps a table to its
      ``(portal_read, portal_write)`` predicates, a table not named is closed to the portal;
    * the login roles' grants, then the ``append_only`` revocations (table → privileges such as
      ``"UPDATE, DELETE"`` taken back from both login roles).
    """
    from shared.db.rls import DENY, audience_rls_sql, grants_sql, tenant_rls_sql
    from shared.health import heartbeat_table_sql
    from shared.messaging.schema import messaging_tables_sql, unsendable_tables_sql

    run_sql(messaging_tables_sql(schema))
    run_sql(unsendable_tables_sql(schema))
    run_sql(heartbeat_table_sql(schema))
    policies = portal or {}
    for table in tenant_tables:
        read, write = policies.get(table, (DENY, DENY))
        run_sql(tenant_rls_sql(schema, table))
        run_sql(audience_rls_sql(schema, table, portal_read=read, portal_write=write))
    run_sql(grants_sql(schema))
    for table, privileges in (append_only or {}).items():
        run_sql([f"REVOKE {privileges} ON {schema}.{table} FROM {schema}_app, {schema}_system"])


def drop_schema_tables(schema: str, tables: Sequence[str]) -> None:
    """Undo a first revision: its tables (in reverse creation order) and the messaging tables."""
    from shared.health import HEARTBEAT_TABLE
    from shared.messaging.schema import messaging_drop_sql, unsendable_drop_sql

    run_sql(f"DROP TABLE IF EXISTS {schema}.{table} CASCADE" for table in reversed(tables))
    run_sql([f"DROP TABLE IF EXISTS {schema}.{HEARTBEAT_TABLE}"])
    run_sql(unsendable_drop_sql(schema))
    run_sql(messaging_drop_sql(schema))


def create_projection_table(schema: str, table: str, columns: str) -> None:
    """A per-work-order projection of another service's compacted topic: keyed by ``work_order_id``,
    RLS-ready ``tenant_id``, the projected ``columns`` (SQL column definitions) and the ``source_version``
    (the envelope's aggregate version) every projection row stores (architecture §4)."""
    run_sql(
        [
            f"CREATE TABLE {schema}.{table} (work_order_id UUID PRIMARY KEY, tenant_id UUID NOT NULL, "
            f"{columns.strip().rstrip(',')}, source_version BIGINT NOT NULL, "
            "updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ]
    )
