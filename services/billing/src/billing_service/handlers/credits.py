"""The credit ledger: grant, reserve, consume and release on one account, under its lock.

Every operation loads the balance under the account lock, lets the pure domain decide (including an
idempotent replay of the same key), writes the outcome in a savepoint, records its usage event and
publishes ``account_status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from billing_service.domain.errors import CreditBalanceInvariantFailed, IdempotencyKeyReused
from billing_service.domain.ledger import (
    ConsumeHold,
    CreditAccount,
    GrantCredits,
    Hold,
    LedgerOutcome,
    ReleaseHold,
    ReserveCredit,
    consume,
    grant,
    release,
    reserve,
)
from billing_service.handlers._common import new_id, record_account_usage, utcnow
from billing_service.handlers.accounts import (
    AccountReference,
    lock_account,
    publish_account_status,
    resolve_account_id,
)
from billing_service.repositories import (
    AccountState,
    HoldAlreadyResolvedRace,
    HoldRow,
    LedgerEntryRow,
    LedgerRepository,
    LedgerWriteRefused,
)
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class LedgerApplied:
    """An applied (or replayed) ledger operation and the account's stream version afterwards."""

    outcome: LedgerOutcome
    account: AccountState
    account_version: int


OperationT = TypeVar("OperationT", GrantCredits, ReserveCredit, ConsumeHold, ReleaseHold)


@dataclass(frozen=True, slots=True)
class OnAccount(Generic[OperationT]):
    """A ledger operation on one account (the account id is not part of the domain command)."""

    account_id: str
    operation: OperationT


# Subclasses, not aliases: calling a subscripted generic would set ``__orig_class__`` on a frozen instance.
class GrantAccountCredits(OnAccount[GrantCredits]):
    """Add credits (grant/topup/adjustment) to an account."""

    __slots__ = ()


class ReserveAccountCredit(OnAccount[ReserveCredit]):
    """Take a hold on an account."""

    __slots__ = ()


class ConsumeAccountHold(OnAccount[ConsumeHold]):
    """Post a hold of an account (fully or partially)."""

    __slots__ = ()


class ReleaseAccountHold(OnAccount[ReleaseHold]):
    """Void a hold of an account."""

    __slots__ = ()


async def _finish(
    uow: UnitOfWork,
    state: AccountState,
    outcome: LedgerOutcome,
    usage_type: str,
    key: str,
    payload: JsonObject,
) -> LedgerApplied:
    if outcome.replayed:
        return LedgerApplied(outcome, state, state.status_version)
    try:
        # A refusal by the database becomes a domain error (never a 500); the repository's savepoint
        # keeps the transaction usable for the caller (e.g. the gate records the consume failure).
        await uow.repo(LedgerRepository).apply(state.account.tenant_id, outcome)
    except LedgerWriteRefused as exc:
        if exc.duplicate_key:
            raise IdempotencyKeyReused(
                "idempotency key was already used with different parameters",
                {"idempotency_key": outcome.record.key if outcome.record else None},
            ) from exc
        raise CreditBalanceInvariantFailed(details={"reason": "database refused the ledger write"}) from exc
    except HoldAlreadyResolvedRace as exc:
        raise CreditBalanceInvariantFailed(details={"reservation_id": str(exc)}) from exc
    # Usage keys are global per source; prefixing the account keeps ledger keys per account (decision 17).
    await record_account_usage(uow, state, usage_type, f"v2:credit_event:{state.account.id}:{key}", payload)
    changed = await publish_account_status(uow, state.account.id)
    return LedgerApplied(outcome, changed.state, changed.version)


async def grant_credits(uow: UnitOfWork, command: GrantAccountCredits) -> LedgerApplied:
    """Add credits (grant/topup/adjustment)."""
    cmd = command.operation
    state = await lock_account(uow, command.account_id)
    prior = await uow.repo(LedgerRepository).idempotency_record(command.account_id, cmd.idempotency_key)
    outcome = grant(command.account_id, state.balance, cmd, prior=prior, ids=new_id)
    payload: JsonObject = {
        "reason": cmd.reason.value.upper(),
        "amount": cmd.amount,
        "ref_type": cmd.ref_type,
        "ref_id": cmd.ref_id,
    }
    return await _finish(uow, state, outcome, "credits_granted", cmd.idempotency_key, payload)


async def reserve_credit(uow: UnitOfWork, command: ReserveAccountCredit) -> LedgerApplied:
    """Take a hold."""
    cmd, account_id = command.operation, command.account_id
    state = await lock_account(uow, account_id)
    ledger = uow.repo(LedgerRepository)
    prior = await ledger.idempotency_record(account_id, cmd.idempotency_key)
    active = await ledger.latest_hold_for_ref(account_id, cmd.ref_type, cmd.ref_id, active_only=True)
    a = state.account
    outcome = reserve(
        CreditAccount(a.id, a.status, state.policy.billing_mode, state.policy.is_enabled),
        state.balance,
        cmd,
        prior=prior,
        active_hold_for_ref=active,
        now=utcnow(),
        ids=new_id,
    )
    payload: JsonObject = {
        "reservation_id": outcome.result.hold_id,
        "amount": cmd.amount,
        "ref_type": cmd.ref_type,
        "ref_id": cmd.ref_id,
        "operator_override": cmd.operator_override,
    }
    return await _finish(uow, state, outcome, "credit_reserved", cmd.idempotency_key, payload)


async def _resolution_inputs(
    uow: UnitOfWork, account_id: str, cmd: ConsumeHold | ReleaseHold
) -> tuple[AccountState, LedgerRepository, Hold | None]:
    state = await lock_account(uow, account_id)
    ledger = uow.repo(LedgerRepository)
    hold: Hold | None = None
    if cmd.hold_id is not None:
        hold = await ledger.hold(cmd.hold_id)
    elif cmd.ref_type is not None and cmd.ref_id is not None:
        hold = await ledger.latest_hold_for_ref(account_id, cmd.ref_type, cmd.ref_id)
    return state, ledger, hold


async def consume_credit(uow: UnitOfWork, command: ConsumeAccountHold) -> LedgerApplied:
    """Post a hold (fully or partially)."""
    cmd, account_id = command.operation, command.account_id
    state, ledger, hold = await _resolution_inputs(uow, account_id, cmd)
    prior = await ledger.idempotency_record(account_id, cmd.idempotency_key)
    outcome = consume(account_id, state.balance, cmd, prior=prior, hold=hold, now=utcnow(), ids=new_id)
    payload: JsonObject = {
        "reservation_id": outcome.result.hold_id,
        "ref_type": cmd.ref_type,
        "ref_id": cmd.ref_id,
    }
    return await _finish(uow, state, outcome, "credit_consumed", cmd.idempotency_key, payload)


async def release_credit(uow: UnitOfWork, command: ReleaseAccountHold) -> LedgerApplied:
    """Void a hold."""
    cmd, account_id = command.operation, command.account_id
    state, ledger, hold = await _resolution_inputs(uow, account_id, cmd)
    prior = await ledger.idempotency_record(account_id, cmd.idempotency_key)
    outcome = release(account_id, state.balance, cmd, prior=prior, hold=hold, now=utcnow(), ids=new_id)
    payload: JsonObject = {"reservation_id": outcome.result.hold_id, "reason": cmd.reason}
    return await _finish(uow, state, outcome, "credit_released", cmd.idempotency_key, payload)


# --- the HTTP credit calls (V1 and the operator): account by reference, then the ledger ---------------


ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class CreditCall(Generic[ResultT]):
    """What an HTTP credit call answers with, and the account's stream version (its consistency token)."""

    result: ResultT
    account_id: str
    account_version: int


@dataclass(frozen=True, slots=True)
class TakeHold:
    """``POST /credits/reserve``: reserve on the account named by id or external key."""

    account: AccountReference
    reserve: ReserveCredit


async def take_hold(uow: UnitOfWork, command: TakeHold) -> CreditCall[HoldRow]:
    """Resolve the account, reserve, read back the stored hold."""
    account_id = await resolve_account_id(uow, command.account)
    applied = await reserve_credit(uow, ReserveAccountCredit(account_id, command.reserve))
    hold_id = applied.outcome.result.hold_id
    row = await uow.repo(LedgerRepository).hold_row(hold_id) if hold_id else None
    if row is None:
        # A reserve, new or replayed, always names a stored hold; anything else is a broken ledger.
        raise CreditBalanceInvariantFailed(details={"reason": "the reserve left no stored hold"})
    return CreditCall(row, account_id, applied.account_version)


@dataclass(frozen=True, slots=True)
class SettleHold:
    """``POST /credits/consume`` or ``/credits/release`` on the account named by id, key or hold."""

    account: AccountReference
    operation: ConsumeHold | ReleaseHold


async def settle_hold(uow: UnitOfWork, command: SettleHold) -> CreditCall[LedgerEntryRow]:
    """Resolve the account, consume or release, read back the ledger entry."""
    account_id = await resolve_account_id(uow, command.account)
    op = command.operation
    if isinstance(op, ConsumeHold):
        applied = await consume_credit(uow, ConsumeAccountHold(account_id, op))
    else:
        applied = await release_credit(uow, ReleaseAccountHold(account_id, op))
    entry_ids = applied.outcome.result.entry_ids
    entry = await uow.repo(LedgerRepository).entry(entry_ids[0]) if entry_ids else None
    if entry is None:
        # A consume or release, new or replayed, always names its stored ledger entry.
        raise CreditBalanceInvariantFailed(details={"reason": "the operation left no ledger entry"})
    return CreditCall(entry, account_id, applied.account_version)
