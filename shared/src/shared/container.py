"""What every service's composition root holds: settings, database, outbox writer, authenticator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.auth.principal import Principal
from shared.db.database import Database, Role
from shared.db.notifications import Notifications
from shared.db.uow import SqlUnitOfWork
from shared.errors import BadRequest
from shared.http import Authenticator
from shared.messaging.kafka import asyncpg_dsn
from shared.messaging.outbox import OutboxWriter
from shared.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class ServiceContainer(Generic[SettingsT]):
    """Built once per process by :class:`shared.runtime.ServiceDefinition` from the service's settings."""

    settings: SettingsT
    schema: str
    db: Database
    outbox: OutboxWriter
    auth: Authenticator
    _notifications: dict[str, Notifications] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, settings: SettingsT, schema: str) -> ServiceContainer[SettingsT]:
        return cls(
            settings=settings,
            schema=schema,
            db=Database.from_settings(settings),
            outbox=OutboxWriter(schema),
            auth=Authenticator(settings),
        )

    def tenant_uow(self, principal: Principal) -> SqlUnitOfWork:
        """A unit of work bound by RLS to the caller's tenant, user and audience (the ``app`` role)."""
        return SqlUnitOfWork(
            self.db,
            self.outbox,
            role=Role.APP,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            aud=principal.aud,
        )

    def system_uow(self, tenant_id: str | None = None) -> SqlUnitOfWork:
        """A cross-tenant unit of work (``system`` role): consumers, service-token and studio routes."""
        return SqlUnitOfWork(self.db, self.outbox, role=Role.SYSTEM, tenant_id=tenant_id)

    def notifications(self, channel: str) -> Notifications:
        """This process's listener on ``channel`` (one connection as the ``system`` role, opened on
        first use; :mod:`shared.db.notifications`)."""
        found = self._notifications.get(channel)
        if found is None:
            dsn = asyncpg_dsn(self.settings.db_system_url.get_secret_value())
            found = self._notifications[channel] = Notifications(dsn, channel)
        return found

    async def close_notifications(self) -> None:
        """Close the listeners (the HTTP app's shutdown)."""
        for listener in self._notifications.values():
            await listener.close()


def require_tenant(principal: Principal) -> str:
    """400 ``TENANT_CONTEXT_REQUIRED`` when the token carries no tenant (domain.md §9.1)."""
    if not principal.tenant_id:
        raise BadRequest("tenant context required", code="TENANT_CONTEXT_REQUIRED")
    return principal.tenant_id


def require_user(principal: Principal) -> str:
    """400 ``USER_CONTEXT_REQUIRED`` when a mutation comes without a user id (domain.md §9.1)."""
    if not principal.user_id:
        raise BadRequest("user context required", code="USER_CONTEXT_REQUIRED")
    return principal.user_id


def parse_uuid(value: str, *, not_found: Exception) -> uuid.UUID:
    """Path ids that are not uuids are simply not found (never a 500)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found from None


def version_token(service: str, aggregate: str, aggregate_id: str, version: int) -> str:
    """The consistency token of a write (``x-zenops-version``, architecture §4)."""
    return f"{service}:{aggregate}:{aggregate_id}:{version}"
