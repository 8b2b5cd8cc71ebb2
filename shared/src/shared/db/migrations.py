"""Run a service's Alembic migrations programmatically, as the schema's owner role."""

from __future__ import annotations

import asyncio
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
    assert url

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
