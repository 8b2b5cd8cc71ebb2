"""The credit ledger: grant, reserve, consume and release on one account, under its lock.

Every operation loads the balance under the account lock, lets the pure domain decide (including an
idempotent replay of the same key), writes the outcome in a savepoint, records its usage event and
publishes ``account_status``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from billing_service.domain.errors import CreditBalanceInvariantFailed, IdempotencyKeyReused
from billing_service.domain.ledger import (
    ConsumeHold,
    CreditAccount,
    GrantCredits,
    Hold,
    IdempotencyRecord,
    LedgerOutcome,
    ReleaseHold,
    ReserveCredit,
    consume,
    grant,
    release,
    reserve,
)
from billing_service.handlers._common import canonical_uuid, new_id, record_account_usage, utcnow
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
    *,
    isolated: bool = True,
) -> LedgerApplied:
    if outcome.replayed:
        return LedgerApplied(outcome, state, state.status_version)
    try:
        # A refusal by the database becomes a domain error (never a 500); the repository's savepoint
        # keeps the transaction usable for the caller (e.g. the gate records the consume failure).
        await uow.repo(LedgerRepository).apply(state.account.tenant_id, outcome, isolated=isolated)
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
    # the state after the write is known under the lock: the new balance, nothing else changed
    changed = await publish_account_status(
        uow, state.account.id, known=replace(state, balance=outcome.balance)
    )
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


async def reserve_credit(
    uow: UnitOfWork, command: ReserveAccountCredit, *, isolated: bool = True
) -> LedgerApplied:
    """Take a hold."""
    cmd, account_id = command.operation, command.account_id
    state = await lock_account(uow, account_id)
    prior, active = await uow.repo(LedgerRepository).operation_inputs(
        account_id, cmd.idempotency_key, ref=(cmd.ref_type, cmd.ref_id), active_only=True
    )
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
    return await _finish(
        uow, state, outcome, "credit_reserved", cmd.idempotency_key, payload, isolated=isolated
    )


async def _resolution_inputs(
    uow: UnitOfWork, account_id: str, cmd: ConsumeHold | ReleaseHold
) -> tuple[AccountState, IdempotencyRecord | None, Hold | None]:
    """The locked account, the key's stored use and the hold named by id, else by reference (one read)."""
    state = await lock_account(uow, account_id)
    ref = (cmd.ref_type, cmd.ref_id) if cmd.ref_type is not None and cmd.ref_id is not None else None
    prior, hold = await uow.repo(LedgerRepository).operation_inputs(
        account_id, cmd.idempotency_key, hold_id=cmd.hold_id, ref=None if cmd.hold_id is not None else ref
    )
    return state, prior, hold


async def consume_credit(
    uow: UnitOfWork, command: ConsumeAccountHold, *, isolated: bool = True
) -> LedgerApplied:
    """Post a hold (fully or partially)."""
    cmd, account_id = command.operation, command.account_id
    state, prior, hold = await _resolution_inputs(uow, account_id, cmd)
    outcome = consume(account_id, state.balance, cmd, prior=prior, hold=hold, now=utcnow(), ids=new_id)
    payload: JsonObject = {
        "reservation_id": outcome.result.hold_id,
        "ref_type": cmd.ref_type,
        "ref_id": cmd.ref_id,
    }
    return await _finish(
        uow, state, outcome, "credit_consumed", cmd.idempotency_key, payload, isolated=isolated
    )


async def release_credit(
    uow: UnitOfWork, command: ReleaseAccountHold, *, isolated: bool = True
) -> LedgerApplied:
    """Void a hold."""
    cmd, account_id = command.operation, command.account_id
    state, prior, hold = await _resolution_inputs(uow, account_id, cmd)
    outcome = release(account_id, state.balance, cmd, prior=prior, hold=hold, now=utcnow(), ids=new_id)
    payload: JsonObject = {"reservation_id": outcome.result.hold_id, "reason": cmd.reason}
    return await _finish(
        uow, state, outcome, "credit_released", cmd.idempotency_key, payload, isolated=isolated
    )


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


async def _account_to_lock(uow: UnitOfWork, ref: AccountReference) -> str:
    """The id of the account a credit call names. An id is not read here (issue 18: one round trip less):
    the operation locks the account by it and answers 404 when it is unknown, as reading it would; a
    uuid in another spelling becomes the stored one. A key or a hold is resolved (404 when unknown)."""
    if ref.account_id:
        return canonical_uuid(ref.account_id)
    return await resolve_account_id(uow, ref)


async def take_hold(uow: UnitOfWork, command: TakeHold) -> CreditCall[HoldRow]:
    """Resolve the account, reserve, read back the stored hold."""
    account_id = await _account_to_lock(uow, command.account)
    # isolated=False: a refused write fails the call as a whole (its transaction is rolled back)
    applied = await reserve_credit(uow, ReserveAccountCredit(account_id, command.reserve), isolated=False)
    hold_id = applied.outcome.result.hold_id
    row = _written_hold(applied, hold_id)
    if row is None and hold_id:  # a replay: the hold as stored
        row = await uow.repo(LedgerRepository).hold_row(hold_id)
    if row is None:
        # A reserve, new or replayed, always names a stored hold; anything else is a broken ledger.
        raise CreditBalanceInvariantFailed(details={"reason": "the reserve left no stored hold"})
    return CreditCall(row, account_id, applied.account_version)


def _written_hold(applied: LedgerApplied, hold_id: str | None) -> HoldRow | None:
    """The hold a new reserve just wrote, as the database stores it (no read back: every column is the
    domain's, ``created_at`` included), or None."""
    hold = next((h for h in applied.outcome.holds if h.id == hold_id), None)
    if applied.outcome.replayed or hold is None:
        return None
    return HoldRow(
        id=hold.id,
        tenant_id=applied.account.account.tenant_id,
        account_id=hold.account_id,
        ref_type=hold.ref_type,
        ref_id=hold.ref_id,
        amount=hold.amount,
        status=hold.status.value,
        idempotency_key=hold.idempotency_key,
        created_at=hold.created_at,
        expires_at=hold.expires_at,
        consumed_at=hold.consumed_at,
        released_at=hold.released_at,
        consumed_amount=hold.consumed_amount,
        release_reason=hold.release_reason,
    )


@dataclass(frozen=True, slots=True)
class SettleHold:
    """``POST /credits/consume`` or ``/credits/release`` on the account named by id, key or hold."""

    account: AccountReference
    operation: ConsumeHold | ReleaseHold


async def settle_hold(uow: UnitOfWork, command: SettleHold) -> CreditCall[LedgerEntryRow]:
    """Resolve the account, consume or release, read back the ledger entry."""
    account_id = await _account_to_lock(uow, command.account)
    op = command.operation
    if isinstance(op, ConsumeHold):
        applied = await consume_credit(uow, ConsumeAccountHold(account_id, op), isolated=False)
    else:
        applied = await release_credit(uow, ReleaseAccountHold(account_id, op), isolated=False)
    entry_ids = applied.outcome.result.entry_ids
    entry = await uow.repo(LedgerRepository).entry(entry_ids[0]) if entry_ids else None
    if entry is None:
        # A consume or release, new or replayed, always names its stored ledger entry.
        raise CreditBalanceInvariantFailed(details={"reason": "the operation left no ledger entry"})
    return CreditCall(entry, account_id, applied.account_version)
