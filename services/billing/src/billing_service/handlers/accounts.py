"""Accounts: lookup under the account lock, create/update by external key, status, policy, and the
``account_status`` stream every change publishes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from billing_service.domain.accounts import (
    AccountStatus,
    AccountUpsert,
    PolicyChange,
    account_status_view,
    api_enum,
    change_policy,
    default_policy,
    lookup_key,
    normalize_external_key,
    policy_change_usage_key,
    upsert_account,
)
from billing_service.domain.errors import AccountNotFound, AccountReferenceRequired, ReservationNotFound
from billing_service.handlers._common import iso, new_id, record_account_usage
from billing_service.repositories import AccountRepository, AccountState, LedgerRepository
from shared.contracts.billing import AccountStatus as AccountStatusEvent
from shared.contracts.billing import Balances
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """An account after a change and its ``account_status`` stream version."""

    state: AccountState
    version: int


async def load_account(uow: UnitOfWork, account_id: str, *, lock: bool = False) -> AccountState:
    """The account with policy and balance (``lock``: under its balance-row lock); 404 when unknown."""
    state = await uow.repo(AccountRepository).get(account_id, lock=lock)
    if state is None:
        raise AccountNotFound(details={"account_id": account_id})
    return state


async def lock_account(uow: UnitOfWork, account_id: str) -> AccountState:
    """The account under its balance-row lock; 404 when unknown."""
    return await load_account(uow, account_id, lock=True)


async def account_by_key(uow: UnitOfWork, external_key: str) -> str:
    """The id of the account with this external key (normalized first, V1's aliases included); 404 when
    unknown or when the key is outside the grammar (no account can have it, domain.md §8.1)."""
    key = lookup_key(external_key)
    found = await uow.repo(AccountRepository).id_by_key(key) if key is not None else None
    if found is None:
        raise AccountNotFound(details={"external_key": external_key})
    return found


@dataclass(frozen=True, slots=True)
class AccountReference:
    """How a V1 credit call names its account: by id, else by external key, else by a hold."""

    account_id: str | None = None
    external_key: str | None = None
    hold_id: str | None = None


async def resolve_account_id(uow: UnitOfWork, ref: AccountReference) -> str:
    """The id of the referenced account (404 for an unknown id, key or hold)."""
    if ref.account_id:
        return (await load_account(uow, ref.account_id)).account.id
    if ref.external_key:
        return await account_by_key(uow, ref.external_key)
    if ref.hold_id:
        hold = await uow.repo(LedgerRepository).hold(ref.hold_id)
        if hold is not None:
            return hold.account_id
        raise ReservationNotFound(details={"reservation_id": ref.hold_id})
    raise AccountReferenceRequired()


def status_view(state: AccountState) -> dict[str, object]:
    """The §7.1 status view of a loaded account (the ``view`` of the ``account_status`` event)."""
    b = state.balance
    view = account_status_view(
        state.account, state.policy, wallet=b.wallet, reserved=b.reserved, available=b.available
    )
    view["monthly_report_allowance"] = state.monthly_report_allowance
    return view


async def publish_account_status(
    uow: UnitOfWork, account_id: str, *, known: AccountState | None = None
) -> AccountChanged:
    """Emit ``account_status`` (compacted, key = account id) after a change made under the lock.

    ``known``: the account as the change left it (a ledger write knows its new balance), so it is not
    read again; its stream version is the one bumped here."""
    version = await uow.repo(AccountRepository).bump_version(account_id)
    if known is None:
        state = await load_account(uow, account_id)
    else:
        state = replace(known, status_version=version)
    a, p, b = state.account, state.policy, state.balance
    await uow.emit(
        AccountStatusEvent(
            account_id=a.id,
            tenant_id=a.tenant_id,
            external_key=a.external_key,
            account_type=api_enum(a.account_type),
            display_name=a.display_name,
            status=api_enum(a.status),
            billing_mode=api_enum(p.billing_mode),
            payment_terms_days=p.payment_terms_days,
            credit=Balances(wallet=b.wallet, reserved=b.reserved, available=b.available),
            view=status_view(state),
        ),
        aggregate_id=a.id,
        aggregate_version=version,
        tenant_id=a.tenant_id,
    )
    return AccountChanged(state, version)


async def ensure_account(uow: UnitOfWork, command: AccountUpsert) -> str:
    """Create the account (with default policy and empty balance) unless its key exists; the id."""
    accounts = uow.repo(AccountRepository)
    key = normalize_external_key(command.external_key)
    for _ in range(2):
        existing = await accounts.id_by_key(key)
        if existing is not None:
            return existing
        account = upsert_account(None, command, new_account_id=new_id())
        terms = command.payment_terms_days or account.payment_terms_days
        if await accounts.add(account, default_policy(terms)):
            await publish_account_status(uow, account.id)
            return account.id
    raise AccountNotFound(details={"external_key": key})  # pragma: no cover - lost a race twice


async def upsert_account_by_key(uow: UnitOfWork, command: AccountUpsert) -> AccountChanged:
    """``POST /control/accounts``: create or update by external key (decision 18)."""
    accounts = uow.repo(AccountRepository)
    existing_id = await accounts.id_by_key(normalize_external_key(command.external_key))
    if existing_id is None:
        state = await lock_account(uow, await ensure_account(uow, command))
        return AccountChanged(state, state.status_version)
    state = await lock_account(uow, existing_id)
    updated = upsert_account(state.account, command, new_account_id=existing_id)
    await accounts.update(updated)
    if command.payment_terms_days is not None:
        await accounts.update_policy(
            existing_id,
            replace(state.policy, payment_terms_days=updated.payment_terms_days),
            monthly_report_allowance=state.monthly_report_allowance,
        )
    return await publish_account_status(uow, existing_id)


@dataclass(frozen=True, slots=True)
class SetAccountStatus:
    """Suspend or (explicitly) reactivate an account."""

    account_id: str
    status: AccountStatus


async def set_account_status(uow: UnitOfWork, command: SetAccountStatus) -> AccountChanged:
    """Write the account status under the account lock."""
    state = await lock_account(uow, command.account_id)
    await uow.repo(AccountRepository).update(replace(state.account, status=command.status))
    return await publish_account_status(uow, command.account_id)


@dataclass(frozen=True, slots=True)
class ChangeAccountPolicy:
    """A policy change plus our additive quota field (decision 32)."""

    account_id: str
    change: PolicyChange
    monthly_report_allowance: int | None = None
    set_allowance: bool = False


async def change_account_policy(uow: UnitOfWork, command: ChangeAccountPolicy) -> AccountChanged:
    """``PATCH /control/accounts/:id/policy`` with the credit-mode guard (BIL-10)."""
    account_id = command.account_id
    state = await lock_account(uow, account_id)
    result = change_policy(state.policy, command.change, available_credits=state.balance.available)
    allowance = command.monthly_report_allowance if command.set_allowance else state.monthly_report_allowance
    updated_at = await uow.repo(AccountRepository).update_policy(
        account_id, result.policy, monthly_report_allowance=allowance
    )
    if result.mode_event is not None:
        await record_account_usage(
            uow,
            state,
            result.mode_event.event_type,
            policy_change_usage_key(account_id, iso(updated_at) or ""),
            result.mode_event.payload(),
        )
    return await publish_account_status(uow, account_id)
