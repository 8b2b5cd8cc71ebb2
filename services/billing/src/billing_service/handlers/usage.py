"""Usage events from V1 (HTTP and stream): stored once per (source, idempotency key)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.accounts import lookup_key
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
    """Store a usage event once per (source system, idempotency key); a duplicate returns the stored one.

    The account is resolved by id (an unknown id → 404: ids are V2's own, V1 only has them from V2's
    answers) or else by external key, normalised as for every lookup (V1's ``external_associate`` and
    ``referral_channel`` aliases name the ``v1:partner:`` account, domain.md §8.1). An unknown key, or one
    outside the key grammar, is accepted: the event is kept with no account and no tenant, flagged
    unmatched (decision 19), under the normalised key when it has one (else as sent, trimmed).
    """
    account_id = command.account_id
    raw_key = command.external_key.strip() if command.external_key and command.external_key.strip() else None
    key = lookup_key(raw_key) if raw_key is not None else None
    if account_id is None and key is not None:
        account_id = await uow.repo(AccountRepository).id_by_key(key)
    account = (await load_account(uow, account_id)).account if account_id is not None else None
    event, created = await uow.repo(UsageRepository).add(
        NewUsageEvent(
            source_system=command.source_system,
            event_type=command.event_type,
            idempotency_key=command.idempotency_key,
            payload=command.payload,
            account_id=account.id if account else None,
            tenant_id=account.tenant_id if account else None,
            external_key=key or raw_key,
        )
    )
    return UsageIngested(event, created)
