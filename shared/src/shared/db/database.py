"""Engines per database role.

Each service connects with two login roles that are neither owner nor superuser (architecture §6):
``app`` is bound by row-level security to the tenant of the request; ``system`` has explicit
cross-tenant policies and serves consumers, the outbox relay and service-token routes.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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
    ) -> None:
        # ``connect_args.timeout`` bounds each new connection: a pool checkout never hangs on a dead
        # server (asyncpg's own default is 60 s); the failure then answers 503 (shared.availability).
        # ``pre_ping``: a round trip per checkout that replaces a connection the server dropped before
        # it is used; without it such a connection fails its first statement (and SQLAlchemy then
        # invalidates the pool's older connections), which a consumer retries anyway.
        options = {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "pool_pre_ping": pre_ping,
            "connect_args": {"timeout": connect_timeout_s},
        }
        self.engines: dict[Role, AsyncEngine] = {
            Role.APP: create_async_engine(app_url, **options),
            Role.SYSTEM: create_async_engine(system_url, **options),
        }
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
