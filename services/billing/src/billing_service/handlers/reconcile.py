"""The reconciliation sweep (domain.md §7.4 with decision 31)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from billing_service.domain.errors import BillingError
from billing_service.domain.ledger import (
    DEFAULT_RESERVATION_TIMEOUT_MINUTES,
    WORK_ORDER_REF_TYPE,
    Hold,
    ReconcileAction,
    ReconcileKind,
    ReferenceState,
    reconcile_action,
    reconcile_release_command,
)
from billing_service.handlers._common import utcnow
from billing_service.handlers.accounts import lock_account
from billing_service.handlers.credits import ReleaseAccountHold, release_credit
from billing_service.handlers.projections import emit_work_order_billing
from billing_service.repositories import LedgerRepository, WorkOrderRepository
from shared.db.uow import UnitOfWork

OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass(frozen=True)
class ReconcileCredits:
    """Sweep parameters (domain.md §7.4); ``ref_type`` None sweeps every reference type."""

    tenant_id: str | None = None
    account_id: str | None = None
    ref_type: str | None = None
    limit: int = 100
    timeout_minutes: int = DEFAULT_RESERVATION_TIMEOUT_MINUTES
    dry_run: bool = False
    #: page on from this ``(created_at, id)`` (the ``cursor`` of the previous report)
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class SweptHold:
    """What the sweep did (or, on a dry run, would do) with one hold."""

    reservation_id: str
    account_id: str
    ref_type: str
    ref_id: str
    action: str
    reason: str


@dataclass(frozen=True, slots=True)
class SweepFailure:
    """A hold the sweep could not release (the sweep goes on)."""

    reservation_id: str
    error: str


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """The sweep's counts and its actions."""

    dry_run: bool
    scanned: int
    released: int
    skipped: int
    errors: list[SweepFailure]
    actions: list[SweptHold]
    #: ``(created_at, id)`` of the last hold scanned (``None`` when none was): the next page starts after it
    cursor: tuple[datetime, str] | None = None


_REFERENCE_STATES = {"CANCELLED": ReferenceState.CANCELLED, "CLOSED": ReferenceState.CLOSED}


def reference_state(status: str | None) -> ReferenceState:
    """Billing's view of a work order for decision 31 (a release-gate stub row counts as missing)."""
    if status is None or status == "UNKNOWN":
        return ReferenceState.MISSING
    return _REFERENCE_STATES.get(status, ReferenceState.ACTIVE)


async def _reference_states(uow: UnitOfWork, holds: list[Hold]) -> dict[str, ReferenceState]:
    wo_ids = [h.ref_id for h in holds if h.ref_type == WORK_ORDER_REF_TYPE]
    statuses = await uow.repo(WorkOrderRepository).statuses(wo_ids)
    return {i: reference_state(statuses.get(i)) for i in wo_ids}


async def reconcile_credits(open_uow: OpenUnitOfWork, command: ReconcileCredits) -> ReconcileReport:
    """The sweep, one transaction per released hold (so it takes a unit-of-work factory, not one uow).

    Each release re-reads the hold under its account lock and re-decides, so a hold resolved meanwhile
    (or by a concurrent sweep) is skipped; the release key ``reconcile_release:<hold>:<reason>`` makes a
    retried sweep change nothing twice. ``dry_run`` decides the same way and writes nothing. Errors are
    collected per hold and do not stop the sweep.
    """
    now = utcnow()
    async with open_uow() as uow:
        holds = await uow.repo(LedgerRepository).reconcile_candidates(
            account_id=command.account_id,
            tenant_id=command.tenant_id,
            ref_type=command.ref_type,
            limit=command.limit,
            after=command.after,
        )
        states = await _reference_states(uow, holds)
    released = skipped = 0
    errors: list[SweepFailure] = []
    actions: list[SweptHold] = []
    for hold in holds:
        action = reconcile_action(hold, states.get(hold.ref_id), now, command.timeout_minutes)
        if action.kind is ReconcileKind.RELEASE and not command.dry_run:
            try:
                action = await _release(open_uow, hold, command.timeout_minutes, now)
            except BillingError as exc:
                errors.append(SweepFailure(hold.id, exc.code))
                continue
        if action.kind is ReconcileKind.RELEASE:
            released += 1
        else:
            skipped += 1
        actions.append(
            SweptHold(hold.id, hold.account_id, hold.ref_type, hold.ref_id, action.kind.value, action.reason)
        )
    cursor = (holds[-1].created_at, holds[-1].id) if holds else None
    return ReconcileReport(command.dry_run, len(holds), released, skipped, errors, actions, cursor)


async def _release(
    open_uow: OpenUnitOfWork, hold: Hold, timeout_minutes: int, now: datetime
) -> ReconcileAction:
    async with open_uow() as uow:
        # Work order before account, the lock order of the sagas (accept, compensate): no deadlock.
        work_orders = uow.repo(WorkOrderRepository)
        wo = await work_orders.get(hold.ref_id, lock=True) if hold.ref_type == WORK_ORDER_REF_TYPE else None
        await lock_account(uow, hold.account_id)
        current = await uow.repo(LedgerRepository).hold(hold.id)
        if current is None:
            return ReconcileAction(ReconcileKind.SKIP, "not_found")
        states = await _reference_states(uow, [current])
        action = reconcile_action(current, states.get(current.ref_id), now, timeout_minutes)
        if action.kind is not ReconcileKind.RELEASE:
            return action
        release = reconcile_release_command(current.id, action.reason)
        await release_credit(uow, ReleaseAccountHold(current.account_id, release))
        if wo is not None and wo.hold_id == current.id:
            # The work order's billing view shows the hold: publish the change to its projections.
            version = await work_orders.touch(current.ref_id)
            await emit_work_order_billing(uow, current.ref_id, version, None)
        await uow.commit()
    return action
