"""Usage events from V1 (HTTP and stream): stored once per (source, idempotency key)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.handlers.accounts import load_account
from billing_service.repositories import AccountRepository, NewUsageEvent, UsageEventRow, UsageRepository
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class IngestUsage:
    """A usage event naming its account by id or by external key (or by neither)."""

    source_system: str
    event_type: str
    idempotency_key: str
    payload: JsonObject
    account_id: str | None = None
    external_key: str | None = None


@dataclass(frozen=True, slots=True)
class UsageIngested:
    """The stored event and whether this call stored it."""

    event: UsageEventRow
    created: bool


async def ingest_usage(uow: UnitOfWork, command: IngestUsage) -> UsageIngested:
    """Store a usage event once per (source system, idempotency key).

    The account is resolved by id (unknown id → 404) or by external key; an unknown key is accepted
    and the event is kept with no account and no tenant, flagged unmatched (decision 19).
    """
    account_id = command.account_id
    if account_id is None and command.external_key and command.external_key.strip():
        account_id = await uow.repo(AccountRepository).id_by_key(command.external_key.strip())
    account = (await load_account(uow, account_id)).account if account_id is not None else None
    event, created = await uow.repo(UsageRepository).add(
        NewUsageEvent(
            source_system=command.source_system,
            event_type=command.event_type,
            idempotency_key=command.idempotency_key,
            payload=command.payload,
            account_id=account.id if account else None,
            tenant_id=account.tenant_id if account else None,
            external_key=command.external_key,
        )
    )
    return UsageIngested(event, created)
