"""``shared.db.notifications`` on the real Postgres: a committed ``pg_notify`` of a key wakes exactly the
watchers of that key, a rolled-back one wakes no one, and a dead listening connection wakes every watcher
(they check again) and is reopened by the next watch."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from devstack.launcher import StackInfo
from shared.db.notifications import Notifications

pytestmark = pytest.mark.stack


async def _notify(dsn: str, channel: str, key: str, *, commit: bool = True) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT pg_notify($1, $2)", channel, key)
        await (tx.commit() if commit else tx.rollback())
    finally:
        await conn.close()


async def test_a_committed_notification_wakes_the_watchers_of_its_key_only(stack: StackInfo) -> None:
    channel = f"test_wake_{uuid.uuid4().hex[:12]}"
    listener = Notifications(stack.admin_dsn, channel)
    try:
        async with listener.watch("a") as a, listener.watch("b") as b:
            assert listener.listening
            await _notify(stack.admin_dsn, channel, "a", commit=False)  # rolled back: no one
            await _notify(stack.admin_dsn, channel, "a")
            await asyncio.wait_for(a.wait(), 30)  # generous deadline: the condition, not a timing
            # notifications are delivered in commit order: the rolled-back one would have come first
            assert not b.is_set()
    finally:
        await listener.close()


async def test_a_lost_connection_wakes_every_watcher_and_the_next_watch_reopens_it(stack: StackInfo) -> None:
    channel = f"test_wake_{uuid.uuid4().hex[:12]}"
    listener = Notifications(stack.admin_dsn, channel)
    try:
        async with listener.watch("a") as a:
            admin = await asyncpg.connect(stack.admin_dsn)
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1",
                    f'LISTEN "{channel}"',
                )
            finally:
                await admin.close()
            await asyncio.wait_for(a.wait(), 30)
        async with listener.watch("b") as b:
            assert listener.listening
            await _notify(stack.admin_dsn, channel, "b")
            await asyncio.wait_for(b.wait(), 30)
    finally:
        await listener.close()
