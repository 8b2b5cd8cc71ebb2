"""Usage events from V1 (HTTP and stream): stored once per (source, idempotency key)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.errors import AccountNotFound
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
    accounts = uow.repo(AccountRepository)
    resolved: str | None = None
    tenant_id: str | None = None
    if command.account_id is not None:
        state = await accounts.get(command.account_id)
        if state is None:
            raise AccountNotFound(details={"account_id": command.account_id})
        resolved, tenant_id = state.account.id, state.account.tenant_id
    elif command.external_key and command.external_key.strip():
        found = await accounts.id_by_key(command.external_key.strip())
        if found is not None:
            state = await accounts.get(found)
            assert state is not None
            resolved, tenant_id = state.account.id, state.account.tenant_id
    event, created = await uow.repo(UsageRepository).add(
        NewUsageEvent(
            source_system=command.source_system,
            event_type=command.event_type,
            idempotency_key=command.idempotency_key,
            payload=command.payload,
            account_id=resolved,
            tenant_id=tenant_id,
            external_key=command.external_key,
        )
    )
    return UsageIngested(event, created)
