"""Usage events: stored once per (source system, idempotency key) (decision 19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.repositories._rows import equal_to, from_row, new_id
from billing_service.tables import usage_events
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class UsageEventRow:
    """A stored usage event (``source_system`` lower-case as stored)."""

    id: str
    tenant_id: str | None
    account_id: str | None
    external_account_key: str | None
    source_system: str
    event_type: str
    idempotency_key: str
    payload_json: JsonObject
    unmatched: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewUsageEvent:
    """A usage event to store; no account means unmatched (and then no tenant either)."""

    source_system: str
    event_type: str
    idempotency_key: str
    payload: JsonObject
    account_id: str | None
    tenant_id: str | None
    external_key: str | None = None

    def columns(self, event_id: str) -> dict[str, Any]:
        """The stored row's columns but ``created_at``: an unmatched event (no account) has no tenant."""
        return {
            "id": event_id,
            "tenant_id": self.tenant_id if self.account_id else None,
            "account_id": self.account_id,
            "external_account_key": self.external_key,
            "source_system": self.source_system,
            "event_type": self.event_type,
            "idempotency_key": self.idempotency_key,
            "payload_json": dict(self.payload),
            "unmatched": self.account_id is None,
        }


class UsageRepository(Repository):
    """Usage events. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, event: NewUsageEvent) -> tuple[UsageEventRow, bool]:
        """Store the event once per (source, key); the stored row and whether it is new."""
        t = usage_events
        statement = (
            pg_insert(t)
            .values(**event.columns(new_id()))
            .on_conflict_do_nothing(index_elements=["source_system", "idempotency_key"])
            .returning(*t.c)
        )
        row = (await self._session.execute(statement)).mappings().first()
        if row is not None:
            return from_row(UsageEventRow, row), True
        query = select(t).where(
            t.c.source_system == event.source_system, t.c.idempotency_key == event.idempotency_key
        )
        existing = (await self._session.execute(query)).mappings().one()
        return from_row(UsageEventRow, existing), False

    async def list(
        self, *, account_id: str | None = None, tenant_id: str | None = None, limit: int = 500
    ) -> list[UsageEventRow]:
        """Usage events, newest first."""
        t = usage_events
        query = (
            select(t)
            .where(equal_to(t, account_id=account_id, tenant_id=tenant_id))
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return [from_row(UsageEventRow, r) for r in (await self._session.execute(query)).mappings()]
