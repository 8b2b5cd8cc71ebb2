"""What every billing use case shares: ids, clock, and the usage events it records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from billing_service.repositories import AccountState, NewUsageEvent, UsageEventRow, UsageRepository
from shared.db.uow import UnitOfWork
from shared.timestamps import iso_utc
from shared.validation import JsonObject

#: usage events billing itself records (V1 sends ``v1``)
OWN_SOURCE = "v2"


def new_id() -> str:
    """A fresh uuid4 string (the domain's id source in production)."""
    return str(uuid.uuid4())


def canonical_uuid(value: str) -> str:
    """A uuid in its stored spelling (lower case, hyphenated); anything else unchanged (it names nothing)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and ``Z`` (domain.md §0)."""
    return None if value is None else iso_utc(value)


async def record_usage(
    uow: UnitOfWork,
    event_type: str,
    idempotency_key: str,
    payload: JsonObject,
    *,
    account_id: str,
    tenant_id: str,
) -> UsageEventRow:
    """Store one of billing's own usage events (once per key) on a known account."""
    row, _ = await uow.repo(UsageRepository).add(
        NewUsageEvent(
            source_system=OWN_SOURCE,
            event_type=event_type,
            idempotency_key=idempotency_key,
            payload=payload,
            account_id=account_id,
            tenant_id=tenant_id,
        )
    )
    return row


async def record_account_usage(
    uow: UnitOfWork, state: AccountState, event_type: str, idempotency_key: str, payload: JsonObject
) -> UsageEventRow:
    """:func:`record_usage` on a loaded account."""
    return await record_usage(
        uow,
        event_type,
        idempotency_key,
        payload,
        account_id=state.account.id,
        tenant_id=state.account.tenant_id,
    )
