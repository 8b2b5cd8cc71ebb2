"""Wake the requests of this process that wait for a row another process writes (LISTEN/NOTIFY).

A request that waits for a saga's outcome (factory's ``release-deliverables?wait=``: billing decides, the
factory stream process stores the outcome) used to poll the database every 50 ms: each waiter cost a
transaction per poll, and under load the polling itself was a large share of the HTTP process's work.
Instead, the writer queues ``pg_notify(channel, key)`` in the transaction that stores the row (Postgres
delivers it at commit, and only if the transaction commits), and one connection per process and channel
LISTENs. A waiter registers its key (:meth:`Notifications.watch`), checks the row once, and then waits on
the event the notification sets, checking again after each wake-up.

The notification is only a hint: the row is always read back, and the waiter keeps a slow fallback poll
(see :func:`shared.consistency.wait_until`'s ``wake``), so a notification lost while the listening
connection was down, or a writer that does not notify, only costs that interval. When the connection
cannot be opened or dies, every waiter is woken to check once more; the next :meth:`watch` reopens it
(not more often than every ``retry_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


class Notifications:
    """One LISTEN connection on ``channel`` for this process, opened on first use."""

    def __init__(
        self, dsn: str, channel: str, *, connect_timeout_s: float = 5.0, retry_s: float = 5.0
    ) -> None:
        self._dsn = dsn
        self.channel = channel
        self._connect_timeout_s = connect_timeout_s
        self._retry_s = retry_s
        self._conn: asyncpg.Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._retry_at = 0.0
        self._waiters: dict[str, set[asyncio.Event]] = {}

    @property
    def listening(self) -> bool:
        """Whether the LISTEN connection is open (else waiters rely on their fallback poll)."""
        return self._conn is not None and not self._conn.is_closed()

    @contextlib.asynccontextmanager
    async def watch(self, key: str) -> AsyncIterator[asyncio.Event]:
        """An event set by every notification of ``key`` while the block runs. Check the row inside
        the block, after entering it: a row written before the LISTEN began sent its notification to
        no one."""
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        try:
            await self._ensure_listening()
            yield event
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    async def _ensure_listening(self) -> None:
        if self.listening:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._retry_at:
            return  # failed a moment ago: the waiters poll until the next try
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.listening or loop.time() < self._retry_at:
                return
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout_s)
                await conn.add_listener(self.channel, self._on_notify)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._retry_at = loop.time() + self._retry_s
                log.warning(
                    "cannot listen for notifications; waiters poll instead",
                    extra={"channel": self.channel, "error": repr(exc)},
                )
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                return
            conn.add_termination_listener(self._on_lost)
            self._conn = conn

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        for event in self._waiters.get(payload, ()):
            event.set()

    def _on_lost(self, _conn: Any) -> None:
        """The connection died: notifications may be lost until the next watch reopens it, so every
        waiter checks once more now (and keeps its fallback poll)."""
        self._conn = None
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
