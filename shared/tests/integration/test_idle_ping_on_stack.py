"""``shared.db.database.Database``'s idle ping on the real Postgres: a pooled connection the server dropped
while it sat idle is replaced before use (the caller never sees it), and one reused within the idle
window is handed out without a ping, so a drop in that window fails one statement as a dropped
connection (503 via ``shared.availability``) and the next checkout gets a fresh connection."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from devstack.launcher import StackInfo
from shared.availability import DATABASE, unavailable_dependency
from shared.db.database import Database, Role

pytestmark = pytest.mark.stack


def _sqlalchemy_dsn(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _backend_pid(db: Database) -> int:
    async with db.session(Role.SYSTEM) as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(admin_dsn: str, pid: int) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_a_connection_dropped_while_idle_is_replaced_before_use(stack: StackInfo) -> None:
    dsn = _sqlalchemy_dsn(stack.admin_dsn)
    db = Database(dsn, dsn, pool_size=1, idle_ping_after_s=0.2)
    try:
        first = await _backend_pid(db)
        await _terminate(stack.admin_dsn, first)
        await asyncio.sleep(0.5)  # idle longer than the window: the next checkout pings it first
        second = await _backend_pid(db)
        assert second != first
    finally:
        await db.dispose()


async def test_within_the_idle_window_a_dropped_connection_fails_once_as_the_database_away(
    stack: StackInfo,
) -> None:
    dsn = _sqlalchemy_dsn(stack.admin_dsn)
    db = Database(dsn, dsn, pool_size=1, idle_ping_after_s=3600)
    try:
        first = await _backend_pid(db)
        await _terminate(stack.admin_dsn, first)
        with pytest.raises(DBAPIError) as failed:
            await _backend_pid(db)
        assert unavailable_dependency(failed.value) == DATABASE  # answered 503, never a 500
        assert await _backend_pid(db) != first  # the pool let the dead connection go
    finally:
        await db.dispose()
