"""Scratch schemas with the messaging tables, for tests and benchmarks of the outbox, relay and inbox."""

from __future__ import annotations

import asyncpg

from shared.messaging.schema import messaging_tables_sql, unsendable_tables_sql


async def create_messaging_schema(admin_dsn: str, schema: str, *extra: str) -> None:
    """Create ``schema`` with the messaging tables every service schema carries, then run ``extra``."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        for statement in [*messaging_tables_sql(schema), *unsendable_tables_sql(schema), *extra]:
            await conn.execute(statement)
    finally:
        await conn.close()


async def drop_schema(admin_dsn: str, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()
