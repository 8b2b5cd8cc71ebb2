"""Commands → effects through the unit of work. Every decision is the pure domain's; this module loads
its inputs under row locks, writes exactly its outcome and publishes the billing streams.

Lock order (no deadlocks): the work-order row first (sagas), then the account's balance row. HTTP
credit operations take only the balance row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from billing_service import repository as repo
from billing_service.domain.acceptance import (
    AcceptancePlan,
    AcceptanceRequest,
    AcceptanceStatus,
    CompensationKind,
    QuotaUsage,
    compensation_for,
    compensation_release_key,
    decide_acceptance,
    quota_window,
    rejection_from_error,
    resolve_payer,
)
from billing_service.domain.accounts import (
    AccountStatus,
    AccountUpsert,
    BillingMode,
    PolicyChange,
    account_status_view,
    api_enum,
    change_policy,
    default_policy,
    normalize_external_key,
    policy_change_usage_key,
    upsert_account,
)
from billing_service.domain.errors import (
    AccountNotFound,
    AccountReferenceRequired,
    BillingError,
    CreditBalanceInvariantFailed,
    GateDecisionNotFound,
    IdempotencyKeyReused,
    ReservationNotFound,
)
from billing_service.domain.gate import (
    GateDecision,
    GateInputs,
    consume_idempotency_key,
    decide_gate,
    decision_hash,
    gate_error,
    release_metadata,
    release_usage_event_type,
    release_usage_key,
)
from billing_service.domain.invoices import InvoiceStatus
from billing_service.domain.ledger import (
    DEFAULT_RESERVATION_TIMEOUT_MINUTES,
    WORK_ORDER_REF_TYPE,
    ConsumeHold,
    CreditAccount,
    CreditBalance,
    GrantCredits,
    Hold,
    HoldStatus,
    LedgerOutcome,
    ReconcileAction,
    ReconcileKind,
    ReferenceState,
    ReleaseHold,
    ReserveCredit,
    consume,
    grant,
    reconcile_action,
    reconcile_release_command,
    release,
    reserve,
)
from shared.contracts.billing import (
    Acceptance,
    Balances,
    GateDecided,
    HoldState,
    InvoiceState,
    LastGate,
    WorkOrderBilling,
)
from shared.contracts.billing import (
    AccountStatus as AccountStatusEvent,
)
from shared.contracts.factory import ReleaseRequested
from shared.contracts.workorders import StatusChanged
from shared.db.uow import UnitOfWork
from shared.messaging.envelope import Envelope
from shared.timestamps import iso_utc

log = logging.getLogger(__name__)

UNIQUE_VIOLATION = "23505"

REJECTION_MESSAGES = {
    "INSUFFICIENT_CREDITS": "insufficient credits to accept the work order",
    "ACCOUNT_NOT_ACTIVE": "the paying billing account is not active",
    "LIMIT_EXCEEDED": "the monthly report allowance of the account is used up",
}


def new_id() -> str:
    """A fresh uuid4 string (the domain's id source in production)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and ``Z`` (domain.md §0)."""
    return None if value is None else iso_utc(value)


def _sqlstate(exc: IntegrityError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


# --- accounts -------------------------------------------------------------------------------------------


async def lock_account(uow: UnitOfWork, account_id: str) -> repo.AccountState:
    """The account under its balance-row lock; 404 when unknown."""
    state = await repo.load_account(uow.session, account_id, lock=True)
    if state is None:
        raise AccountNotFound(details={"account_id": account_id})
    return state


async def resolve_account_id(
    uow: UnitOfWork, *, account_id: str | None, external_key: str | None, hold_id: str | None = None
) -> str:
    """Account by id, else by external key, else the account of a named hold (V1 sends any of them)."""
    if account_id:
        state = await repo.load_account(uow.session, account_id)
        if state is None:
            raise AccountNotFound(details={"account_id": account_id})
        return state.account.id
    if external_key:
        found = await repo.account_id_by_key(uow.session, normalize_external_key(external_key))
        if found is None:
            raise AccountNotFound(details={"external_key": external_key})
        return found
    if hold_id:
        hold = await repo.get_hold(uow.session, hold_id)
        if hold is not None:
            return hold.account_id
        raise ReservationNotFound(details={"reservation_id": hold_id})
    raise AccountReferenceRequired()


def status_view(state: repo.AccountState) -> dict[str, Any]:
    """The §7.1 status view of a loaded account."""
    b = state.balance
    view = account_status_view(
        state.account, state.policy, wallet=b.wallet, reserved=b.reserved, available=b.available
    )
    view["monthly_report_allowance"] = state.monthly_report_allowance
    return view


async def publish_account_status(uow: UnitOfWork, account_id: str) -> tuple[repo.AccountState, int]:
    """Emit ``account_status`` (compacted, key = account id) after a change made under the lock."""
    version = await repo.bump_account_version(uow.session, account_id)
    state = await repo.load_account(uow.session, account_id)
    assert state is not None
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
    return state, version


async def ensure_account(uow: UnitOfWork, request: AccountUpsert) -> str:
    """Create the account (with default policy and empty balance) unless its key exists; the id."""
    key = normalize_external_key(request.external_key)
    for _ in range(2):
        existing = await repo.account_id_by_key(uow.session, key)
        if existing is not None:
            return existing
        account = upsert_account(None, request, new_account_id=new_id())
        terms = request.payment_terms_days or account.payment_terms_days
        if await repo.insert_account(uow.session, account, default_policy(terms)):
            await publish_account_status(uow, account.id)
            return account.id
    raise AccountNotFound(details={"external_key": key})  # pragma: no cover - lost a race twice


async def upsert_account_by_key(uow: UnitOfWork, request: AccountUpsert) -> tuple[repo.AccountState, int]:
    """``POST /control/accounts``: create or update by external key (decision 18)."""
    key = normalize_external_key(request.external_key)
    existing_id = await repo.account_id_by_key(uow.session, key)
    if existing_id is None:
        account_id = await ensure_account(uow, request)
        state = await lock_account(uow, account_id)
        return state, state.status_version
    state = await lock_account(uow, existing_id)
    updated = upsert_account(state.account, request, new_account_id=existing_id)
    await repo.update_account(uow.session, updated)
    if request.payment_terms_days is not None:
        await repo.update_policy(
            uow.session,
            existing_id,
            replace(state.policy, payment_terms_days=updated.payment_terms_days),
            monthly_report_allowance=state.monthly_report_allowance,
        )
    return await publish_account_status(uow, existing_id)


async def set_account_status(
    uow: UnitOfWork, account_id: str, status: AccountStatus
) -> tuple[repo.AccountState, int]:
    """Suspend or (explicitly) reactivate an account."""
    state = await lock_account(uow, account_id)
    await repo.update_account(uow.session, replace(state.account, status=status))
    return await publish_account_status(uow, account_id)


@dataclass(frozen=True, slots=True)
class PolicyUpdate:
    """A policy change plus our additive quota field (decision 32)."""

    change: PolicyChange
    monthly_report_allowance: int | None = None
    set_allowance: bool = False


async def change_account_policy(
    uow: UnitOfWork, account_id: str, update: PolicyUpdate
) -> tuple[repo.AccountState, int]:
    """``PATCH /control/accounts/:id/policy`` with the credit-mode guard (BIL-10)."""
    state = await lock_account(uow, account_id)
    result = change_policy(state.policy, update.change, available_credits=state.balance.available)
    allowance = update.monthly_report_allowance if update.set_allowance else state.monthly_report_allowance
    updated_at = await repo.update_policy(
        uow.session, account_id, result.policy, monthly_report_allowance=allowance
    )
    if result.mode_event is not None:
        await repo.insert_usage(
            uow.session,
            source_system="v2",
            event_type=result.mode_event.event_type,
            idempotency_key=policy_change_usage_key(account_id, iso(updated_at) or ""),
            payload=result.mode_event.payload(),
            account_id=account_id,
            tenant_id=state.account.tenant_id,
        )
    return await publish_account_status(uow, account_id)


# --- the ledger -----------------------------------------------------------------------------------------


async def _apply(uow: UnitOfWork, tenant_id: str, outcome: LedgerOutcome) -> None:
    """Write the outcome inside a savepoint; DB-level refusals become domain errors, never a 500."""
    try:
        async with uow.session.begin_nested():
            await repo.apply_ledger_outcome(uow.session, tenant_id, outcome)
    except IntegrityError as exc:
        if _sqlstate(exc) == UNIQUE_VIOLATION:
            # A derived key (e.g. "<key>:override") collides with a key used by another operation.
            raise IdempotencyKeyReused(
                "idempotency key was already used with different parameters",
                {"idempotency_key": outcome.record.key if outcome.record else None},
            ) from exc
        raise CreditBalanceInvariantFailed(details={"reason": "database refused the ledger write"}) from exc
    except repo.HoldAlreadyResolvedRace as exc:
        raise CreditBalanceInvariantFailed(details={"reservation_id": str(exc)}) from exc


async def _ledger_usage(
    uow: UnitOfWork, state: repo.AccountState, event_type: str, key: str, payload: Mapping[str, Any]
) -> None:
    # Usage keys are global per source; prefixing the account keeps ledger keys per account (decision 17).
    await repo.insert_usage(
        uow.session,
        source_system="v2",
        event_type=event_type,
        idempotency_key=f"v2:credit_event:{state.account.id}:{key}",
        payload=payload,
        account_id=state.account.id,
        tenant_id=state.account.tenant_id,
    )


@dataclass(frozen=True, slots=True)
class LedgerApplied:
    """An applied (or replayed) ledger operation and the account's stream version afterwards."""

    outcome: LedgerOutcome
    account: repo.AccountState
    account_version: int


async def grant_credits(uow: UnitOfWork, account_id: str, cmd: GrantCredits) -> LedgerApplied:
    """Add credits (grant/topup/adjustment)."""
    state = await lock_account(uow, account_id)
    prior = await repo.get_idempotency_record(uow.session, account_id, cmd.idempotency_key)
    outcome = grant(account_id, state.balance, cmd, prior=prior, ids=new_id)
    return await _finish(
        uow,
        state,
        outcome,
        "credits_granted",
        cmd.idempotency_key,
        {
            "reason": cmd.reason.value.upper(),
            "amount": cmd.amount,
            "ref_type": cmd.ref_type,
            "ref_id": cmd.ref_id,
        },
    )


async def reserve_credit(
    uow: UnitOfWork,
    account_id: str,
    cmd: ReserveCredit,
    *,
    timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES,
) -> LedgerApplied:
    """Take a hold."""
    state = await lock_account(uow, account_id)
    prior = await repo.get_idempotency_record(uow.session, account_id, cmd.idempotency_key)
    active = await repo.latest_hold_for_ref(
        uow.session, account_id, cmd.ref_type, cmd.ref_id, active_only=True
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
        timeout_minutes=timeout_minutes,
    )
    return await _finish(
        uow,
        state,
        outcome,
        "credit_reserved",
        cmd.idempotency_key,
        {
            "reservation_id": outcome.result.hold_id,
            "amount": cmd.amount,
            "ref_type": cmd.ref_type,
            "ref_id": cmd.ref_id,
            "operator_override": cmd.operator_override,
        },
    )


async def _target_hold(
    uow: UnitOfWork, account_id: str, hold_id: str | None, ref_type: str | None, ref_id: str | None
) -> Hold | None:
    if hold_id is not None:
        return await repo.get_hold(uow.session, hold_id)
    if ref_type is not None and ref_id is not None:
        return await repo.latest_hold_for_ref(uow.session, account_id, ref_type, ref_id)
    return None


async def consume_credit(uow: UnitOfWork, account_id: str, cmd: ConsumeHold) -> LedgerApplied:
    """Post a hold (fully or partially)."""
    state = await lock_account(uow, account_id)
    prior = await repo.get_idempotency_record(uow.session, account_id, cmd.idempotency_key)
    hold = await _target_hold(uow, account_id, cmd.hold_id, cmd.ref_type, cmd.ref_id)
    outcome = consume(account_id, state.balance, cmd, prior=prior, hold=hold, now=utcnow(), ids=new_id)
    return await _finish(
        uow,
        state,
        outcome,
        "credit_consumed",
        cmd.idempotency_key,
        {"reservation_id": outcome.result.hold_id, "ref_type": cmd.ref_type, "ref_id": cmd.ref_id},
    )


async def release_credit(uow: UnitOfWork, account_id: str, cmd: ReleaseHold) -> LedgerApplied:
    """Void a hold."""
    state = await lock_account(uow, account_id)
    prior = await repo.get_idempotency_record(uow.session, account_id, cmd.idempotency_key)
    hold = await _target_hold(uow, account_id, cmd.hold_id, cmd.ref_type, cmd.ref_id)
    outcome = release(account_id, state.balance, cmd, prior=prior, hold=hold, now=utcnow(), ids=new_id)
    return await _finish(
        uow,
        state,
        outcome,
        "credit_released",
        cmd.idempotency_key,
        {"reservation_id": outcome.result.hold_id, "reason": cmd.reason},
    )


async def _finish(
    uow: UnitOfWork,
    state: repo.AccountState,
    outcome: LedgerOutcome,
    usage_type: str,
    key: str,
    payload: Mapping[str, Any],
) -> LedgerApplied:
    if outcome.replayed:
        return LedgerApplied(outcome, state, state.status_version)
    await _apply(uow, state.account.tenant_id, outcome)
    await _ledger_usage(uow, state, usage_type, key, payload)
    after, version = await publish_account_status(uow, state.account.id)
    return LedgerApplied(outcome, after, version)


# --- work-order billing stream --------------------------------------------------------------------------


async def work_order_billing(uow: UnitOfWork, row: repo.Row) -> WorkOrderBilling:
    """The ``work_order_billing`` payload of one work-order row."""
    session = uow.session
    acceptance = None
    if row["acceptance_status"] is not None:
        acceptance = Acceptance(
            status=row["acceptance_status"],
            code=row["acceptance_code"],
            message=row["acceptance_message"],
            details=dict(row["acceptance_details"] or {}),
            decided_at=iso(row["acceptance_decided_at"]),
            request_message_id=row["acceptance_request_message_id"],
        )
    hold = None
    if row["hold_id"] is not None:
        h = await repo.get_hold_row(session, row["hold_id"])
        if h is not None:
            hold = HoldState(id=h["id"], status=h["status"], amount=int(h["amount"]))
    invoice = None
    if row["invoice_id"] is not None:
        inv = await repo.get_invoice(session, row["invoice_id"])
        if inv is not None:
            invoice = InvoiceState(
                id=inv["id"],
                number=inv["invoice_number"],
                status=inv["status"].upper(),
                is_paid=inv["is_paid"],
                total_minor=int(inv["total_minor"]),
                amount_due_minor=int(inv["amount_due_minor"]),
                currency=inv["currency"],
            )
    last_gate = LastGate.model_validate(row["last_gate"]) if row["last_gate"] else None
    return WorkOrderBilling(
        work_order_id=row["work_order_id"],
        acceptance=acceptance,
        mode=row["mode"].upper() if row["mode"] else None,
        account_id=row["account_id"],
        external_key=row["external_key"],
        hold=hold,
        invoice=invoice,
        planned_consumption_logged=row["planned_consumption_logged"],
        last_gate=last_gate,
    )


async def emit_work_order_billing(
    uow: UnitOfWork, work_order_id: str, version: int, causation_id: str | None
) -> WorkOrderBilling:
    """Publish the work order's billing state at ``version`` (compacted, key = work order id)."""
    row = await repo.load_work_order(uow.session, work_order_id)
    assert row is not None
    event = await work_order_billing(uow, row)
    await uow.emit(
        event,
        aggregate_id=work_order_id,
        aggregate_version=version,
        tenant_id=row["tenant_id"],
        causation_id=causation_id,
    )
    return event


# --- reconcile sweep ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconcileRequest:
    """Sweep parameters (domain.md §7.4); ``ref_type`` None sweeps every reference type."""

    tenant_id: str | None = None
    account_id: str | None = None
    ref_type: str | None = None
    limit: int = 100
    timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES
    dry_run: bool = False


_REFERENCE_STATES = {"CANCELLED": ReferenceState.CANCELLED, "CLOSED": ReferenceState.CLOSED}


def reference_state(status: str | None) -> ReferenceState:
    """Billing's view of a work order for decision 31 (a release-gate stub row counts as missing)."""
    if status is None or status == "UNKNOWN":
        return ReferenceState.MISSING
    return _REFERENCE_STATES.get(status, ReferenceState.ACTIVE)


async def _reference_states(uow: UnitOfWork, holds: list[Hold]) -> dict[str, ReferenceState]:
    wo_ids = [h.ref_id for h in holds if h.ref_type == WORK_ORDER_REF_TYPE]
    statuses = await repo.work_order_statuses(uow.session, wo_ids)
    return {i: reference_state(statuses.get(i)) for i in wo_ids}


async def reconcile_credits(
    open_uow: Callable[[], AbstractAsyncContextManager[UnitOfWork]], request: ReconcileRequest
) -> dict[str, Any]:
    """The sweep (domain.md §7.4 with decision 31), one transaction per released hold.

    Each release re-reads the hold under its account lock and re-decides, so a hold resolved meanwhile
    (or by a concurrent sweep) is skipped; the release key ``reconcile_release:<hold>:<reason>`` makes a
    retried sweep change nothing twice. ``dry_run`` decides the same way and writes nothing. Errors are
    collected per hold and do not stop the sweep.
    """
    now = utcnow()
    async with open_uow() as uow:
        holds = await repo.reconcile_candidates(
            uow.session,
            account_id=request.account_id,
            tenant_id=request.tenant_id,
            ref_type=request.ref_type,
            limit=request.limit,
        )
        states = await _reference_states(uow, holds)
    released = skipped = 0
    errors: list[dict[str, str]] = []
    actions: list[dict[str, Any]] = []
    for hold in holds:
        action = reconcile_action(hold, states.get(hold.ref_id), now, request.timeout_minutes)
        if action.kind is ReconcileKind.RELEASE and not request.dry_run:
            try:
                action = await _reconcile_release(open_uow, hold, request.timeout_minutes, now)
            except BillingError as exc:
                errors.append({"reservation_id": hold.id, "error": exc.code})
                continue
        if action.kind is ReconcileKind.RELEASE:
            released += 1
        else:
            skipped += 1
        actions.append(
            {
                "reservation_id": hold.id,
                "account_id": hold.account_id,
                "ref_type": hold.ref_type,
                "ref_id": hold.ref_id,
                "action": action.kind.value,
                "reason": action.reason,
            }
        )
    return {
        "dry_run": request.dry_run,
        "scanned": len(holds),
        "consumed": 0,
        "released": released,
        "skipped": skipped,
        "errors": errors,
        "actions": actions,
    }


async def _reconcile_release(
    open_uow: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
    hold: Hold,
    timeout_minutes: int,
    now: datetime,
) -> ReconcileAction:
    async with open_uow() as uow:
        # Work order before account, the lock order of the sagas (accept, compensate): no deadlock.
        wo = None
        if hold.ref_type == WORK_ORDER_REF_TYPE:
            wo = await repo.load_work_order(uow.session, hold.ref_id, lock=True)
        await lock_account(uow, hold.account_id)
        current = await repo.get_hold(uow.session, hold.id)
        if current is None:
            return ReconcileAction(ReconcileKind.SKIP, "not_found")
        states = await _reference_states(uow, [current])
        action = reconcile_action(current, states.get(current.ref_id), now, timeout_minutes)
        if action.kind is not ReconcileKind.RELEASE:
            return action
        await release_credit(uow, current.account_id, reconcile_release_command(current.id, action.reason))
        if wo is not None and wo["hold_id"] == current.id:
            # The work order's billing view shows the hold: publish the change to its projections.
            version = await repo.update_work_order_billing(uow.session, current.ref_id)
            await emit_work_order_billing(uow, current.ref_id, version, None)
        await uow.commit()
    return action


# --- usage events ---------------------------------------------------------------------------------------


async def ingest_usage(
    uow: UnitOfWork,
    *,
    source_system: str,
    event_type: str,
    idempotency_key: str,
    payload: Mapping[str, Any],
    account_id: str | None = None,
    external_key: str | None = None,
) -> tuple[repo.Row, bool]:
    """Store a usage event once per (source, idempotency key); the row and whether it is new.

    The account is resolved by id (unknown id → 404) or by external key; an unknown key is accepted
    and the event is kept with no account and no tenant, flagged unmatched (decision 19).
    """
    session = uow.session
    resolved: str | None = None
    tenant_id: str | None = None
    if account_id is not None:
        state = await repo.load_account(session, account_id)
        if state is None:
            raise AccountNotFound(details={"account_id": account_id})
        resolved, tenant_id = state.account.id, state.account.tenant_id
    elif external_key and external_key.strip():
        found = await repo.account_id_by_key(session, external_key.strip())
        if found is not None:
            state = await repo.load_account(session, found)
            assert state is not None
            resolved, tenant_id = state.account.id, state.account.tenant_id
    return await repo.insert_usage(
        session,
        source_system=source_system,
        event_type=event_type,
        idempotency_key=idempotency_key,
        payload=payload,
        account_id=resolved,
        tenant_id=tenant_id,
        external_key=external_key,
    )


# --- acceptance saga ------------------------------------------------------------------------------------


async def accept_work_order(uow: UnitOfWork, envelope: Envelope, event: StatusChanged) -> AcceptancePlan:
    """DATA_PENDING: resolve the payer, reserve a credit or draft the invoice, publish ACCEPTED/REJECTED."""
    ar = event.acceptance_request
    assert ar is not None
    wo_id = event.work_order_id
    session = uow.session
    await repo.upsert_work_order(
        session,
        work_order_id=wo_id,
        tenant_id=ar.tenant_id,
        billing_external_key=ar.billing_external_key,
        report_type=ar.report_type,
        bank_name=ar.bank_name,
        assignment_id=None,
        status=event.to_status,
        source_version=envelope.aggregate_version,
    )
    wo = await repo.load_work_order(session, wo_id, lock=True)
    assert wo is not None
    now = utcnow()
    request = AcceptanceRequest(
        tenant_id=ar.tenant_id,
        work_order_id=wo_id,
        assignment_id=wo["assignment_id"],
        report_type=ar.report_type,
        bank_name=ar.bank_name,
        billing_external_key=ar.billing_external_key,
        accepted_at=now,
    )
    payer = resolve_payer(request, None)
    account_id: str | None = None
    if payer.external_key is not None:
        account_id = await repo.account_id_by_key(session, payer.external_key)
        if account_id is None and payer.create is not None:
            account_id = await ensure_account(uow, payer.create)
    state = await lock_account(uow, account_id) if account_id else None
    quota = QuotaUsage()
    existing_hold = None
    existing_invoice = None
    if state is not None:
        if state.monthly_report_allowance is not None:
            start, end = quota_window(now)
            used = await repo.count_accepted_in_window(session, state.account.id, start, end, excluding=wo_id)
            quota = QuotaUsage(state.monthly_report_allowance, used)
        existing_hold = await repo.latest_hold_for_ref(
            session, state.account.id, WORK_ORDER_REF_TYPE, wo_id, active_only=True
        )
        existing_invoice = await repo.live_invoice_for_work_order(session, wo_id)
    plan = decide_acceptance(
        request,
        account=state.account if state else None,
        policy=state.policy if state else None,
        balance=state.balance if state else CreditBalance.empty(),
        quota=quota,
        existing_hold=existing_hold,
        existing_invoice_id=existing_invoice,
        new_invoice_id=new_id(),
    )
    if payer.invalid_key and plan.details is not None:
        plan = AcceptancePlan(
            status=plan.status,
            rejection_code=plan.rejection_code,
            details={
                **plan.details,
                "reason": "invalid_external_key",
                "external_key": ar.billing_external_key,
            },
        )
    hold_id: str | None = None
    if plan.status is AcceptanceStatus.ACCEPTED and plan.reserve is not None and state is not None:
        try:
            applied = await reserve_credit(uow, state.account.id, plan.reserve)
            hold_id = applied.outcome.result.hold_id
        except BillingError as exc:
            plan = rejection_from_error(exc, state.account.id)
    if plan.status is AcceptanceStatus.ACCEPTED and plan.draft_invoice is not None:
        await repo.insert_draft_invoice(session, plan.draft_invoice, work_order_id=wo_id)
    if plan.status is AcceptanceStatus.ACCEPTED and plan.usage is not None and state is not None:
        await repo.insert_usage(
            session,
            source_system="v2",
            event_type=plan.usage.event_type,
            idempotency_key=plan.usage.idempotency_key,
            payload=plan.usage.payload,
            account_id=state.account.id,
            tenant_id=state.account.tenant_id,
        )
    accepted = plan.status is AcceptanceStatus.ACCEPTED
    code = plan.rejection_code.value if plan.rejection_code else None
    version = await repo.update_work_order_billing(
        session,
        wo_id,
        acceptance_status=plan.status.value,
        acceptance_code=code,
        acceptance_message=REJECTION_MESSAGES.get(code or "") if code else None,
        acceptance_details=dict(plan.details or {}),
        acceptance_request_message_id=envelope.message_id,
        acceptance_decided_at=now,
        accepted_at=(wo["accepted_at"] or now) if accepted else None,
        mode=plan.mode.value if plan.mode else (state.policy.billing_mode.value if state else None),
        account_id=state.account.id if state else None,
        external_key=state.account.external_key if state else payer.external_key,
        hold_id=hold_id if accepted else wo["hold_id"],
        invoice_id=plan.service_invoice_id if accepted else wo["invoice_id"],
    )
    await emit_work_order_billing(uow, wo_id, version, envelope.message_id)
    return plan


async def log_planned_consumption(uow: UnitOfWork, envelope: Envelope, event: StatusChanged) -> None:
    """READY_FOR_RENDER: the planned-consumption usage event (no credit moves)."""
    session = uow.session
    wo = await repo.load_work_order(session, event.work_order_id, lock=True)
    if wo is None:
        return
    await repo.set_work_order_status(
        session, event.work_order_id, event.to_status, envelope.aggregate_version
    )
    if wo["planned_consumption_logged"] or wo["account_id"] is None:
        return
    await repo.insert_usage(
        session,
        source_system="v2",
        event_type="repogen_ready_for_render_planned",
        idempotency_key=f"v2:repogen_ready_for_render_planned:{event.work_order_id}",
        payload={
            "repogen_work_order_id": event.work_order_id,
            "assignment_id": wo["assignment_id"],
            "snapshot_version": envelope.payload.get("snapshot_version"),
            "readiness_score": envelope.payload.get("readiness_score"),
        },
        account_id=wo["account_id"],
        tenant_id=wo["tenant_id"],
    )
    version = await repo.update_work_order_billing(
        session, event.work_order_id, planned_consumption_logged=True
    )
    await emit_work_order_billing(uow, event.work_order_id, version, envelope.message_id)


async def compensate(
    uow: UnitOfWork, envelope: Envelope, work_order_id: str, target: str, *, released_flag: bool = False
) -> None:
    """CANCELLED / CLOSED (decision 10): release the hold, void a draft acceptance invoice."""
    session = uow.session
    wo = await repo.load_work_order(session, work_order_id, lock=True)
    if wo is None:
        return
    await repo.set_work_order_status(session, work_order_id, target, envelope.aggregate_version)
    hold = await repo.get_hold(session, wo["hold_id"]) if wo["hold_id"] else None
    invoice = await repo.get_invoice(session, wo["invoice_id"]) if wo["invoice_id"] else None
    actions = compensation_for(
        target,
        hold.status if hold else None,
        InvoiceStatus(invoice["status"]) if invoice else None,
        bool(wo["has_successful_release"]) or released_flag,
    )
    changed = False
    for action in actions:
        if action.kind is CompensationKind.RELEASE_HOLD and hold is not None:
            await release_credit(
                uow,
                hold.account_id,
                ReleaseHold(
                    idempotency_key=compensation_release_key(work_order_id, action.reason),
                    hold_id=hold.id,
                    reason=action.reason,
                ),
            )
            changed = True
        elif (
            action.kind is CompensationKind.VOID_INVOICE
            and invoice is not None
            and await repo.void_draft_invoice(session, invoice["id"], action.reason)
        ):
            await repo.insert_usage(
                session,
                source_system="v2",
                event_type="invoice_voided",
                idempotency_key=f"v2:invoice_voided:{invoice['id']}",
                payload={"invoice_id": invoice["id"], "reason": action.reason},
                account_id=invoice["account_id"],
                tenant_id=invoice["tenant_id"],
            )
            changed = True
    if changed:
        version = await repo.update_work_order_billing(session, work_order_id)
        await emit_work_order_billing(uow, work_order_id, version, envelope.message_id)


# --- release gate ---------------------------------------------------------------------------------------


def inputs_from_plain(plain: Mapping[str, Any]) -> GateInputs:
    """Rebuild stored gate inputs (``GateInputs.as_plain`` form)."""
    hold_status = plain.get("hold_status")
    return GateInputs(
        mode=BillingMode(str(plain["mode"]).lower()),
        hold_id=plain.get("hold_id"),
        hold_status=HoldStatus(str(hold_status).lower()) if hold_status else None,
        invoice_id=plain.get("invoice_id"),
        invoice_status=plain.get("invoice_status"),
        invoice_is_paid=plain.get("invoice_is_paid"),
        override=bool(plain.get("override")),
        override_reason=plain.get("override_reason"),
    )


def redecide(inputs: GateInputs, consume_error_code: str | None) -> GateDecision:
    """The decision for stored inputs, including a recorded consume failure."""
    decision = decide_gate(inputs)
    if decision.consume_hold_id is not None and consume_error_code is not None:
        return gate_error(consume_error_code)
    return decision


async def decide_release(uow: UnitOfWork, envelope: Envelope, event: ReleaseRequested) -> GateDecided | None:
    """Decide a release: consume in this (inbox) transaction, store inputs + hash, publish the outcome.

    A release id is decided once (UNIQUE); a redelivered request with a new message id changes nothing.
    """
    session = uow.session
    if await repo.gate_decision_by_release(session, event.release_id) is not None:
        return None
    wo = await repo.load_work_order(session, event.work_order_id, lock=True)
    if wo is None:
        # Unknown to billing: decide as POSTPAID without invoice (domain.md §6 step 7), on a stub row.
        await repo.upsert_work_order(
            session,
            work_order_id=event.work_order_id,
            tenant_id=envelope.tenant_id or "00000000-0000-0000-0000-000000000000",
            billing_external_key=None,
            report_type="UNKNOWN",
            bank_name="",
            assignment_id=None,
            status="UNKNOWN",
            source_version=0,
        )
        wo = await repo.load_work_order(session, event.work_order_id, lock=True)
        assert wo is not None
    hold = await repo.get_hold(session, wo["hold_id"]) if wo["hold_id"] else None
    invoice = await repo.get_invoice(session, wo["invoice_id"]) if wo["invoice_id"] else None
    inputs = GateInputs(
        mode=BillingMode(wo["mode"]) if wo["mode"] else BillingMode.POSTPAID,
        hold_id=hold.id if hold else None,
        hold_status=hold.status if hold else None,
        invoice_id=invoice["id"] if invoice else None,
        invoice_status=invoice["status"].upper() if invoice else None,
        invoice_is_paid=invoice["is_paid"] if invoice else None,
        override=event.override,
        override_reason=event.override_reason,
    ).normalized()
    decision = decide_gate(inputs)
    consume_error: str | None = None
    error_message: str | None = None
    entry_ids: list[str] = []
    if decision.consume_hold_id is not None and hold is not None:
        try:
            applied = await consume_credit(
                uow,
                hold.account_id,
                ConsumeHold(idempotency_key=consume_idempotency_key(event.idempotency_key), hold_id=hold.id),
            )
            entry_ids = list(applied.outcome.result.entry_ids)
        except BillingError as exc:
            consume_error = exc.code
            error_message = exc.message
            decision = gate_error(exc.code)
    account_id = wo["account_id"]
    usage_id: str | None = None
    if account_id is not None and decision.error_code is None:
        usage, _ = await repo.insert_usage(
            session,
            source_system="v2",
            event_type=release_usage_event_type(decision),
            idempotency_key=release_usage_key(event.idempotency_key),
            payload={
                "repogen_work_order_id": event.work_order_id,
                "assignment_id": wo["assignment_id"],
                "report_pack_id": event.pack_id,
                "release_id": event.release_id,
                "billing_gate_result": decision.result.value,
                "override": event.override,
            },
            account_id=account_id,
            tenant_id=wo["tenant_id"],
        )
        usage_id = usage["id"]
    now = utcnow()
    digest = decision_hash(inputs, decision)
    last_gate = LastGate(
        release_id=event.release_id,
        result=decision.result.value,
        blocked_reason=decision.blocked_reason.value if decision.blocked_reason else None,
        error_code=decision.error_code,
        decided_at=iso(now) or "",
    )
    version = await repo.update_work_order_billing(
        session,
        event.work_order_id,
        last_gate=last_gate.model_dump(mode="json"),
        has_successful_release=bool(wo["has_successful_release"]) or decision.successful,
    )
    decision_id = new_id()
    await repo.insert_gate_decision(
        session,
        id=decision_id,
        tenant_id=wo["tenant_id"],
        work_order_id=event.work_order_id,
        release_id=event.release_id,
        idempotency_key=event.idempotency_key,
        request_message_id=envelope.message_id,
        account_id=account_id,
        mode=inputs.mode.value,
        inputs=inputs.as_plain(),
        outcome=decision.as_plain(),
        consume_error_code=consume_error,
        result=decision.result.value,
        blocked_reason=decision.blocked_reason.value if decision.blocked_reason else None,
        error_code=decision.error_code,
        ledger_entry_ids=entry_ids,
        usage_event_id=usage_id,
        decision_hash=digest,
        billing_version=version,
    )
    outcome = GateDecided(
        decision_id=decision_id,
        release_id=event.release_id,
        work_order_id=event.work_order_id,
        idempotency_key=event.idempotency_key,
        mode="CREDIT" if inputs.mode is BillingMode.CREDIT else "POSTPAID",
        result=decision.result.value,
        blocked_reason=decision.blocked_reason.value if decision.blocked_reason else None,
        error_code=decision.error_code,
        error_message=error_message,
        override_applied=decision.override_applied,
        ledger_entry_ids=entry_ids,
        usage_event_id=usage_id,
        decision_hash=digest,
        metadata=release_metadata(
            inputs, decision, account_id=account_id, consume_ledger_id=entry_ids[0] if entry_ids else None
        ),
    )
    await uow.emit(
        outcome,
        aggregate_id=event.work_order_id,
        aggregate_version=version,
        tenant_id=wo["tenant_id"],
        causation_id=envelope.message_id,
    )
    await emit_work_order_billing(uow, event.work_order_id, version, envelope.message_id)
    return outcome


async def replay_gate_decision(uow: UnitOfWork, decision_id: str) -> dict[str, Any]:
    """Re-decide a stored decision from its stored inputs; report whether outcome and hash match."""
    row = await repo.gate_decision(uow.session, decision_id)
    if row is None:
        raise GateDecisionNotFound(details={"decision_id": decision_id})
    inputs = inputs_from_plain(row["inputs"])
    decision = redecide(inputs, row["consume_error_code"])
    digest = decision_hash(inputs, decision)
    return {
        "decision_id": row["id"],
        "release_id": row["release_id"],
        "work_order_id": row["work_order_id"],
        "inputs": row["inputs"],
        "stored": {"outcome": row["outcome"], "decision_hash": row["decision_hash"]},
        "replayed": {"outcome": decision.as_plain(), "decision_hash": digest},
        "matches": digest == row["decision_hash"] and decision.as_plain() == row["outcome"],
    }


def hold_view(row: repo.Row) -> dict[str, Any]:
    """Reservation response shape (domain.md §7.3), status upper-cased."""
    return {
        "id": row["id"],
        "tenant_id": row["tenant_id"],
        "account_id": row["account_id"],
        "amount": int(row["amount"]),
        "status": row["status"].upper(),
        "ref_type": row["ref_type"],
        "ref_id": row["ref_id"],
        "idempotency_key": row["idempotency_key"],
        "created_at": iso(row["created_at"]),
        "expires_at": iso(row["expires_at"]),
        "consumed_at": iso(row["consumed_at"]),
        "released_at": iso(row["released_at"]),
    }


def ledger_row_camel(row: repo.Row) -> dict[str, Any]:
    """The raw ledger row in camelCase with lower-case reason (domain.md §0 exception)."""
    return {
        "id": row["id"],
        "tenantId": row["tenant_id"],
        "accountId": row["account_id"],
        "reservationId": row["hold_id"],
        "delta": int(row["delta"]),
        "reason": row["reason"],
        "refType": row["ref_type"],
        "refId": row["ref_id"],
        "idempotencyKey": row["idempotency_key"],
        "metadataJson": row["metadata_json"],
        "createdAt": iso(row["created_at"]),
    }


def ledger_row_snake(row: repo.Row) -> dict[str, Any]:
    """A ledger row for lists (reason upper-cased, domain.md §7.11)."""
    return {
        "id": row["id"],
        "tenant_id": row["tenant_id"],
        "account_id": row["account_id"],
        "reservation_id": row["hold_id"],
        "delta": int(row["delta"]),
        "reason": row["reason"].upper(),
        "ref_type": row["ref_type"],
        "ref_id": row["ref_id"],
        "idempotency_key": row["idempotency_key"],
        "metadata_json": row["metadata_json"],
        "created_at": iso(row["created_at"]),
    }


def usage_view(row: repo.Row) -> dict[str, Any]:
    """Usage event response shape (domain.md §7.5)."""
    return {
        "id": row["id"],
        "tenant_id": row["tenant_id"],
        "source_system": row["source_system"].upper(),
        "event_type": row["event_type"],
        "account_id": row["account_id"],
        "external_account_key": row["external_account_key"],
        "payload_json": row["payload_json"],
        "idempotency_key": row["idempotency_key"],
        "unmatched": row["unmatched"],
        "created_at": iso(row["created_at"]),
    }
