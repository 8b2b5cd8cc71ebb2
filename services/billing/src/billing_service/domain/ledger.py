"""Credit balances, holds and the ledger, with TigerBeetle semantics, as pure decisions.

A hold (the original's "reservation") is a pending transfer: ``reserve`` creates it, ``consume`` posts
it (fully, or partially with the rest returned), ``release`` voids it and expiry voids it through the
reconcile sweep. A hold resolves at most once. Balances keep ``wallet − reserved = available`` with all
three ≥ 0 (domain.md §7.3).

Each operation is a function of exactly what the database layer loads under its row locks (account
context, balance row, the idempotency record of the request key, the target hold) and returns a
``LedgerOutcome``: the new balance, the holds to insert or update, the ledger entries to insert, the
idempotency record to store, and the result. The database layer applies the outcome verbatim, so the
decisions made in production and in these unit/property tests are the same code. ``CreditBook`` is the
in-memory reference model composing the same functions over a whole account.

Idempotency (decision 17): keys are per account and shared by all operations; replaying a key with the
same parameters returns the stored result and changes nothing; other parameters (or another operation)
→ ``IDEMPOTENCY_KEY_REUSED``. Failed operations store nothing, so a retry is a fresh attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from billing_service.domain.accounts import AccountStatus, BillingMode, ensure_can_reserve
from billing_service.domain.errors import (
    ActiveReservationExists,
    AmountNotPositive,
    CreditBalanceInvariantFailed,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidConsumeAmount,
    InvalidGrantReason,
    ReservationAlreadyConsumed,
    ReservationAlreadyReleased,
    ReservationExpired,
    ReservationNotFound,
    WalletLimitExceeded,
)
from shared.validation import MAX_WALLET

WORK_ORDER_REF_TYPE = "repogen_work_order"
DEFAULT_RESERVATION_TIMEOUT_MINUTES = 1440
MIN_RESERVATION_TIMEOUT_MINUTES = 5

MetadataValue = str | int | bool | None
Metadata = Mapping[str, MetadataValue]
IdSource = Callable[[], str]
"""Produces fresh ids (uuid4 strings in production, a counter in tests)."""


class HoldStatus(StrEnum):
    """``active → consumed`` or ``active → released``; nothing else."""

    ACTIVE = "active"
    CONSUMED = "consumed"
    RELEASED = "released"


class LedgerReason(StrEnum):
    """Why a ledger row exists. Only grant/topup/adjustment/consume move the wallet."""

    GRANT = "grant"
    TOPUP = "topup"
    RESERVE = "reserve"
    CONSUME = "consume"
    RELEASE = "release"
    ADJUSTMENT = "adjustment"


WALLET_REASONS = frozenset(
    {LedgerReason.GRANT, LedgerReason.TOPUP, LedgerReason.ADJUSTMENT, LedgerReason.CONSUME}
)
GRANT_REASONS = frozenset({LedgerReason.GRANT, LedgerReason.TOPUP, LedgerReason.ADJUSTMENT})


class Operation(StrEnum):
    """The operation an idempotency key was first used for."""

    GRANT = "grant"
    RESERVE = "reserve"
    CONSUME = "consume"
    RELEASE = "release"


def clamp_timeout_minutes(minutes: int) -> int:
    """``BILLING_RESERVATION_TIMEOUT_MINUTES`` has a floor of 5 minutes."""
    return max(MIN_RESERVATION_TIMEOUT_MINUTES, minutes)


def hold_expiry(
    ref_type: str, now: datetime, timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES
) -> datetime | None:
    """Decision 31: holds for work orders never expire by time (the work order's fate decides); all
    other holds expire ``timeout`` minutes after they are taken."""
    if ref_type == WORK_ORDER_REF_TYPE:
        return None
    return now + timedelta(minutes=clamp_timeout_minutes(timeout_minutes))


@dataclass(frozen=True, slots=True)
class CreditBalance:
    """The balance row. Constructing one that breaks the invariants raises
    ``CREDIT_BALANCE_INVARIANT_FAILED``, so no operation can produce a bad balance."""

    wallet: int
    reserved: int
    available: int

    def __post_init__(self) -> None:
        values = (self.wallet, self.reserved, self.available)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise CreditBalanceInvariantFailed(details={"reason": "balances must be integers"})
        if min(values) < 0 or self.wallet - self.reserved != self.available:
            raise CreditBalanceInvariantFailed(
                details={"wallet": self.wallet, "reserved": self.reserved, "available": self.available}
            )

    @classmethod
    def of(cls, wallet: int, reserved: int) -> CreditBalance:
        """Balance with ``available`` derived."""
        return cls(wallet=wallet, reserved=reserved, available=wallet - reserved)

    @classmethod
    def empty(cls) -> CreditBalance:
        """0 / 0 / 0."""
        return cls(0, 0, 0)


@dataclass(frozen=True, slots=True)
class Hold:
    """A credit hold (pending transfer) on one reference."""

    id: str
    account_id: str
    ref_type: str
    ref_id: str
    amount: int
    status: HoldStatus
    idempotency_key: str
    created_at: datetime
    expires_at: datetime | None
    consumed_at: datetime | None = None
    released_at: datetime | None = None
    consumed_amount: int | None = None
    release_reason: str | None = None

    def timed_out(self, now: datetime, timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES) -> bool:
        """``(expires_at ?? created_at + timeout) ≤ now`` (domain.md §7.4)."""
        deadline = self.expires_at or self.created_at + timedelta(
            minutes=clamp_timeout_minutes(timeout_minutes)
        )
        return deadline <= now


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ``billing_credit_ledger`` row. ``reserve``/``release`` rows are informational; the wallet is
    the sum of ``delta`` over ``WALLET_REASONS``."""

    id: str
    account_id: str
    hold_id: str | None
    delta: int
    reason: LedgerReason
    ref_type: str | None
    ref_id: str | None
    idempotency_key: str
    metadata: Metadata = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OpResult:
    """What an operation produced; stored with its idempotency key and returned on replay."""

    operation: Operation
    hold_id: str | None
    entry_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A used key: the operation and canonical parameters it was used with, and its result."""

    account_id: str
    key: str
    operation: Operation
    fingerprint: str
    result: OpResult


@dataclass(frozen=True, slots=True)
class CreditAccount:
    """What a credit operation needs to know about the account and its policy."""

    account_id: str
    status: AccountStatus
    billing_mode: BillingMode
    is_enabled: bool = True


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    """The effects of one operation, to be applied verbatim (``replayed`` → nothing to apply)."""

    balance: CreditBalance
    holds: tuple[Hold, ...]
    entries: tuple[LedgerEntry, ...]
    record: IdempotencyRecord | None
    result: OpResult
    replayed: bool


# --- commands -------------------------------------------------------------------------------------------


def _canonical(*parts: object) -> str:
    # "|" never appears inside our parts' own grammar except free text, which is length-prefixed.
    return "|".join(f"{len(str(p))}:{p}" for p in parts)


@dataclass(frozen=True, slots=True)
class GrantCredits:
    """Add credits to the wallet (grant, top-up or adjustment)."""

    idempotency_key: str
    amount: int
    reason: LedgerReason = LedgerReason.GRANT
    ref_type: str = "manual"
    ref_id: str = "manual-grant"
    metadata: Metadata = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Canonical parameters for idempotency comparison."""
        return _canonical(Operation.GRANT, self.amount, self.reason, self.ref_type, self.ref_id)

    def entry(self, entry_id: str, account_id: str) -> LedgerEntry:
        """The wallet ledger entry that adds this grant's ``amount``."""
        return LedgerEntry(
            id=entry_id,
            account_id=account_id,
            hold_id=None,
            delta=self.amount,
            reason=self.reason,
            ref_type=self.ref_type,
            ref_id=self.ref_id,
            idempotency_key=self.idempotency_key,
            metadata=dict(self.metadata),
        )


@dataclass(frozen=True, slots=True)
class ReserveCredit:
    """Take a hold of ``amount`` credits for a reference."""

    idempotency_key: str
    ref_type: str
    ref_id: str
    amount: int = 1
    operator_override: bool = False

    def fingerprint(self) -> str:
        """Canonical parameters for idempotency comparison."""
        return _canonical(Operation.RESERVE, self.amount, self.ref_type, self.ref_id, self.operator_override)

    def override_grant(self, shortfall: int) -> GrantCredits:
        """BIL-08: the adjustment grant that covers an overridden reserve's ``shortfall``."""
        return GrantCredits(
            idempotency_key=f"{self.idempotency_key}:override",
            amount=shortfall,
            reason=LedgerReason.ADJUSTMENT,
            ref_type="operator_override",
            ref_id=f"{self.ref_type}:{self.ref_id}",
            metadata={
                "reason": "insufficient_credits_override",
                "reserve_idempotency_key": self.idempotency_key,
            },
        )


@dataclass(frozen=True, slots=True)
class ConsumeHold:
    """Post a hold, fully (``amount`` None) or partially. The hold is named by id or by reference
    (the repository resolves a reference to the latest hold); the fingerprint uses what was named."""

    idempotency_key: str
    hold_id: str | None = None
    ref_type: str | None = None
    ref_id: str | None = None
    amount: int | None = None

    def fingerprint(self) -> str:
        """Canonical parameters for idempotency comparison."""
        return _canonical(Operation.CONSUME, self.hold_id, self.ref_type, self.ref_id, self.amount)


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    """Void a hold. ``reason`` records why (``void`` on request; reconcile reasons otherwise)."""

    idempotency_key: str
    hold_id: str | None = None
    ref_type: str | None = None
    ref_id: str | None = None
    reason: str = "void"

    def fingerprint(self) -> str:
        """Canonical parameters for idempotency comparison (the reason is descriptive only)."""
        return _canonical(Operation.RELEASE, self.hold_id, self.ref_type, self.ref_id)


def reconcile_release_command(hold_id: str, reason: str) -> ReleaseHold:
    """The release the sweep issues, with the original's key ``reconcile_release:<hold>:<reason>``."""
    return ReleaseHold(
        idempotency_key=f"reconcile_release:{hold_id}:{reason}", hold_id=hold_id, reason=reason
    )


# --- operations -----------------------------------------------------------------------------------------


def _replay(
    prior: IdempotencyRecord | None, operation: Operation, fingerprint: str, balance: CreditBalance
) -> LedgerOutcome | None:
    if prior is None:
        return None
    if prior.operation is not operation or prior.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"idempotency key {prior.key!r} was used with different parameters",
            {"idempotency_key": prior.key, "operation": str(prior.operation)},
        )
    return LedgerOutcome(
        balance=balance, holds=(), entries=(), record=None, result=prior.result, replayed=True
    )


def _require_key(key: str) -> str:
    if not key.strip():
        raise IdempotencyKeyRequired(details={"idempotency_key": key})
    return key


def _record(
    account_id: str, key: str, operation: Operation, fingerprint: str, result: OpResult
) -> IdempotencyRecord:
    return IdempotencyRecord(
        account_id=account_id, key=key, operation=operation, fingerprint=fingerprint, result=result
    )


LedgerCommand = GrantCredits | ReserveCredit | ConsumeHold | ReleaseHold


def _replay_of(
    cmd: LedgerCommand, operation: Operation, prior: IdempotencyRecord | None, balance: CreditBalance
) -> LedgerOutcome | None:
    """The stored outcome when the key was used before (same parameters), else None to go on."""
    _require_key(cmd.idempotency_key)
    return _replay(prior, operation, cmd.fingerprint(), balance)


def _applied(
    account_id: str,
    cmd: LedgerCommand,
    operation: Operation,
    *,
    hold_id: str | None,
    entries: tuple[LedgerEntry, ...],
    balance: CreditBalance,
    holds: tuple[Hold, ...] = (),
) -> LedgerOutcome:
    """A new operation's outcome with the idempotency record that remembers its result."""
    result = OpResult(operation, hold_id, tuple(e.id for e in entries))
    record = _record(account_id, cmd.idempotency_key, operation, cmd.fingerprint(), result)
    return LedgerOutcome(
        balance=balance, holds=holds, entries=entries, record=record, result=result, replayed=False
    )


def _hold_entry(
    ids: IdSource, hold: Hold, key: str, delta: int, reason: LedgerReason, metadata: Metadata
) -> LedgerEntry:
    """The ledger entry of a hold's reserve, consume or release."""
    return LedgerEntry(
        id=ids(),
        account_id=hold.account_id,
        hold_id=hold.id,
        delta=delta,
        reason=reason,
        ref_type=hold.ref_type,
        ref_id=hold.ref_id,
        idempotency_key=key,
        metadata=metadata,
    )


def _settled(
    account_id: str, cmd: ConsumeHold | ReleaseHold, settled: Hold, entry: LedgerEntry, balance: CreditBalance
) -> LedgerOutcome:
    """A consume's or release's outcome: the hold in its final state and its one ledger entry."""
    operation = Operation.CONSUME if isinstance(cmd, ConsumeHold) else Operation.RELEASE
    return _applied(
        account_id, cmd, operation, hold_id=settled.id, entries=(entry,), balance=balance, holds=(settled,)
    )


def _ensure_wallet_room(wallet: int, added: int) -> None:
    """``wallet + added`` stays within ``MAX_WALLET`` (409 ``CREDIT_WALLET_LIMIT_EXCEEDED``); a wallet
    already above it (pushed there before the limit existed) takes no more credits, never a 500."""
    if wallet + added > MAX_WALLET:
        raise WalletLimitExceeded(details={"wallet": wallet, "amount": added, "max_wallet": MAX_WALLET})


def grant(
    account_id: str,
    balance: CreditBalance,
    cmd: GrantCredits,
    *,
    prior: IdempotencyRecord | None,
    ids: IdSource,
) -> LedgerOutcome:
    """Add ``amount`` to the wallet."""
    if cmd.reason not in GRANT_REASONS:
        raise InvalidGrantReason(details={"reason": str(cmd.reason)})
    if cmd.amount <= 0:
        raise AmountNotPositive(details={"amount": cmd.amount})
    replayed = _replay_of(cmd, Operation.GRANT, prior, balance)
    if replayed is not None:
        return replayed
    _ensure_wallet_room(balance.wallet, cmd.amount)
    balance = CreditBalance.of(balance.wallet + cmd.amount, balance.reserved)
    entries = (cmd.entry(ids(), account_id),)
    return _applied(account_id, cmd, Operation.GRANT, hold_id=None, entries=entries, balance=balance)


def reserve(
    account: CreditAccount,
    balance: CreditBalance,
    cmd: ReserveCredit,
    *,
    prior: IdempotencyRecord | None,
    active_hold_for_ref: Hold | None,
    now: datetime,
    ids: IdSource,
    timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES,
) -> LedgerOutcome:
    """Take a hold. With ``operator_override`` a shortfall is first covered by an adjustment grant
    (BIL-08); without it a shortfall is ``INSUFFICIENT_CREDITS``. One active hold per reference."""
    if cmd.amount <= 0:
        raise AmountNotPositive(details={"amount": cmd.amount})
    replayed = _replay_of(cmd, Operation.RESERVE, prior, balance)
    if replayed is not None:
        return replayed
    ensure_can_reserve(account.status, account.is_enabled, account.billing_mode)
    if active_hold_for_ref is not None:
        raise ActiveReservationExists(
            details={"reservation_id": active_hold_for_ref.id, "ref_type": cmd.ref_type, "ref_id": cmd.ref_id}
        )
    entries: list[LedgerEntry] = []
    wallet = balance.wallet
    shortfall = cmd.amount - balance.available
    if shortfall > 0:
        if not cmd.operator_override:
            raise InsufficientCredits(details={"available": balance.available, "requested": cmd.amount})
        _ensure_wallet_room(wallet, shortfall)
        entries.append(cmd.override_grant(shortfall).entry(ids(), account.account_id))
        wallet += shortfall
    hold = Hold(
        id=ids(),
        account_id=account.account_id,
        ref_type=cmd.ref_type,
        ref_id=cmd.ref_id,
        amount=cmd.amount,
        status=HoldStatus.ACTIVE,
        idempotency_key=cmd.idempotency_key,
        created_at=now,
        expires_at=hold_expiry(cmd.ref_type, now, timeout_minutes),
    )
    entries.append(
        _hold_entry(ids, hold, cmd.idempotency_key, cmd.amount, LedgerReason.RESERVE, {"event": "reserve"})
    )
    return _applied(
        account.account_id,
        cmd,
        Operation.RESERVE,
        hold_id=hold.id,
        entries=tuple(entries),
        balance=CreditBalance.of(wallet, balance.reserved + cmd.amount),
        holds=(hold,),
    )


def _active_hold(account_id: str, hold: Hold | None) -> Hold:
    # A hold of another account is "not found": ids must not leak across accounts.
    if hold is None or hold.account_id != account_id:
        raise ReservationNotFound()
    if hold.status is HoldStatus.CONSUMED:
        raise ReservationAlreadyConsumed(details={"reservation_id": hold.id})
    if hold.status is HoldStatus.RELEASED:
        raise ReservationAlreadyReleased(details={"reservation_id": hold.id})
    return hold


def consume(
    account_id: str,
    balance: CreditBalance,
    cmd: ConsumeHold,
    *,
    prior: IdempotencyRecord | None,
    hold: Hold | None,
    now: datetime,
    ids: IdSource,
) -> LedgerOutcome:
    """Post a hold: the wallet loses the posted amount, the whole hold leaves ``reserved``, and any
    unposted rest becomes available again. A hold past its expiry cannot be posted (it is as good as
    voided; TigerBeetle refuses to post an expired pending transfer)."""
    replayed = _replay_of(cmd, Operation.CONSUME, prior, balance)
    if replayed is not None:
        return replayed
    target = _active_hold(account_id, hold)
    if target.expires_at is not None and target.expires_at <= now:
        raise ReservationExpired(details={"reservation_id": target.id})
    posted = target.amount if cmd.amount is None else cmd.amount
    if posted <= 0 or posted > target.amount:
        raise InvalidConsumeAmount(
            f"consume amount must be between 1 and {target.amount}",
            {"amount": posted, "reservation_id": target.id},
        )
    metadata: Metadata = {
        "event": "consume",
        "posted_amount": posted,
        "returned_amount": target.amount - posted,
    }
    entry = _hold_entry(ids, target, cmd.idempotency_key, -posted, LedgerReason.CONSUME, metadata)
    consumed = replace(target, status=HoldStatus.CONSUMED, consumed_at=now, consumed_amount=posted)
    return _settled(
        account_id,
        cmd,
        consumed,
        entry,
        CreditBalance.of(balance.wallet - posted, balance.reserved - target.amount),
    )


def release(
    account_id: str,
    balance: CreditBalance,
    cmd: ReleaseHold,
    *,
    prior: IdempotencyRecord | None,
    hold: Hold | None,
    now: datetime,
    ids: IdSource,
) -> LedgerOutcome:
    """Void a hold (on request, on compensation, or on expiry through the sweep)."""
    replayed = _replay_of(cmd, Operation.RELEASE, prior, balance)
    if replayed is not None:
        return replayed
    target = _active_hold(account_id, hold)
    metadata: Metadata = {"event": "release", "reason": cmd.reason}
    entry = _hold_entry(ids, target, cmd.idempotency_key, target.amount, LedgerReason.RELEASE, metadata)
    released = replace(target, status=HoldStatus.RELEASED, released_at=now, release_reason=cmd.reason)
    return _settled(
        account_id, cmd, released, entry, CreditBalance.of(balance.wallet, balance.reserved - target.amount)
    )


# --- reconcile (domain.md §7.4 with decisions 31 and 34) -------------------------------------------------


class ReferenceState(StrEnum):
    """What billing knows about the thing a work-order hold was taken for."""

    ACTIVE = "active"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    MISSING = "missing"


class ReconcileKind(StrEnum):
    """The sweep either releases a hold or leaves it."""

    RELEASE = "release"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class ReconcileAction:
    """A sweep decision and its reason (release reasons end up in the release key)."""

    kind: ReconcileKind
    reason: str


def reconcile_action(
    hold: Hold,
    reference_state: ReferenceState | None,
    now: datetime,
    timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES,
) -> ReconcileAction:
    """Decide what the sweep does with one hold.

    Decision 31 (every reference type, decision 34): work-order holds never expire by time; they are
    released when the work order is cancelled, closed or missing. A missing work order is released only
    once the hold is older than the timeout (the original's ``orphan`` rule), so a projection that lags
    behind the hold cannot cause a wrong release. Holds of any other reference type are released when
    timed out. ``reference_state`` is only consulted for work-order holds (None there means missing).
    """
    if hold.status is not HoldStatus.ACTIVE:
        return ReconcileAction(ReconcileKind.SKIP, "not_active")
    if hold.ref_type != WORK_ORDER_REF_TYPE:
        if hold.timed_out(now, timeout_minutes):
            return ReconcileAction(ReconcileKind.RELEASE, "timeout")
        return ReconcileAction(ReconcileKind.SKIP, "not_timed_out")
    state = reference_state or ReferenceState.MISSING
    if state is ReferenceState.CANCELLED:
        return ReconcileAction(ReconcileKind.RELEASE, "cancelled")
    if state is ReferenceState.CLOSED:
        return ReconcileAction(ReconcileKind.RELEASE, "closed")
    if state is ReferenceState.MISSING:
        if hold.timed_out(now, timeout_minutes):
            return ReconcileAction(ReconcileKind.RELEASE, "orphan")
        return ReconcileAction(ReconcileKind.SKIP, "orphan_within_grace")
    return ReconcileAction(ReconcileKind.SKIP, "work_order_active")
