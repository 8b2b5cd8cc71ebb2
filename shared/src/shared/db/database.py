"""Engines per database role.

Each service connects with two login roles that are neither owner nor superuser (architecture §6):
``app`` is bound by row-level security to the tenant of the request; ``system`` has explicit
cross-tenant policies and serves consumers, the outbox relay and service-token routes.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from shared.settings import ServiceSettings


class Role(StrEnum):
    """Which login role a unit of work runs as."""

    APP = "app"
    SYSTEM = "system"


class Database:
    """Owns the engines of one service and hands out sessions per role."""

    def __init__(
        self,
        app_url: str,
        system_url: str,
        *,
        pool_size: int = 10,
        connect_timeout_s: float = 5.0,
        pre_ping: bool = True,
        idle_ping_after_s: float = 1.0,
    ) -> None:
        # ``connect_args.timeout`` bounds each new connection: a pool checkout never hangs on a dead
        # server (asyncpg's own default is 60 s); the failure then answers 503 (shared.availability).
        # ``pre_ping``: a connection that sat idle in the pool for ``idle_ping_after_s`` or more is
        # pinged (one ``;`` round trip) before it is handed out, and replaced when the server dropped it
        # (:func:`_ping_idle_connections`). SQLAlchemy's own ``pool_pre_ping`` pings every checkout in
        # three round trips (BEGIN, ``;``, ROLLBACK): under load a third of a short call's round trips
        # (issue 18), for connections that were in use a few milliseconds before.
        options = {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "connect_args": {"timeout": connect_timeout_s},
        }
        self.engines: dict[Role, AsyncEngine] = {
            Role.APP: create_async_engine(app_url, **options),
            Role.SYSTEM: create_async_engine(system_url, **options),
        }
        if pre_ping:
            for engine in self.engines.values():
                _ping_idle_connections(engine, idle_ping_after_s)
        self._sessionmakers = {
            role: async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
            for role, engine in self.engines.items()
        }

    @classmethod
    def from_settings(cls, settings: ServiceSettings, *, pre_ping: bool = True) -> Database:
        return cls(
            settings.db_app_url.get_secret_value(),
            settings.db_system_url.get_secret_value(),
            pool_size=settings.db_pool_size,
            pre_ping=pre_ping,
        )

    def session(self, role: Role) -> AsyncSession:
        return self._sessionmakers[role]()

    @property
    def system_engine(self) -> AsyncEngine:
        return self.engines[Role.SYSTEM]

    async def dispose(self) -> None:
        for engine in self.engines.values():
            await engine.dispose()


#: where a pooled connection's last check-in time is kept (``ConnectionPoolEntry.info``)
_IDLE_SINCE = "zenops_idle_since"


def _ping_idle_connections(engine: AsyncEngine, idle_after_s: float) -> None:
    """Before a connection that was idle for ``idle_after_s`` or more is handed out, ask the server
    (``;``); when it does not answer, :class:`DisconnectionError` makes the pool drop that connection and
    check out another (a fresh one if the server is back; the connect error otherwise, answered 503). A
    connection checked in moments ago is used as is: if the server dropped it since, its first statement
    fails like any other statement would and the pool invalidates it."""
    pool = engine.sync_engine.pool

    def checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_after_s:
            return  # new, or back in the pool only moments ago
        try:
            await_only(dbapi_connection.driver_connection.fetchrow(";"))
        except Exception as exc:
            raise DisconnectionError(f"idle connection did not answer: {exc!r}") from exc

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)
