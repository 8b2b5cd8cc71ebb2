"""The acceptance saga (DATA_PENDING) and the planned-consumption note (READY_FOR_RENDER).

Lock order (no deadlocks): the work-order row first, then the account's balance row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from billing_service.domain.acceptance import (
    AcceptancePlan,
    AcceptanceRequest,
    AcceptanceStatus,
    QuotaUsage,
    decide_acceptance,
    quota_window,
    rejection_from_error,
    resolve_payer,
)
from billing_service.domain.errors import BillingError
from billing_service.domain.ledger import WORK_ORDER_REF_TYPE, CreditBalance
from billing_service.handlers._common import new_id, record_account_usage, record_usage, utcnow
from billing_service.handlers.accounts import ensure_account, lock_account
from billing_service.handlers.credits import ReserveAccountCredit, reserve_credit
from billing_service.handlers.projections import emit_work_order_billing
from billing_service.handlers.subscriptions import monthly_report_allowance
from billing_service.repositories import (
    AccountRepository,
    AccountState,
    InvoiceRepository,
    LedgerRepository,
    WorkOrderReference,
    WorkOrderRepository,
    WorkOrderRow,
)
from shared.contracts.workorders import AcceptanceRequest as AcceptanceRequestEvent
from shared.db.uow import UnitOfWork

REJECTION_MESSAGES = {
    "INSUFFICIENT_CREDITS": "insufficient credits to accept the work order",
    "ACCOUNT_NOT_ACTIVE": "the paying billing account is not active",
    "LIMIT_EXCEEDED": "the monthly report allowance of the account is used up",
}


@dataclass(frozen=True, slots=True)
class AcceptWorkOrder:
    """A ``status_changed`` to DATA_PENDING carrying an acceptance request."""

    work_order_id: str
    to_status: str
    request: AcceptanceRequestEvent
    message_id: str
    source_version: int


async def _plan(
    uow: UnitOfWork, request: AcceptanceRequest, state: AccountState | None, wo_id: str
) -> AcceptancePlan:
    quota = QuotaUsage()
    existing_hold = None
    existing_invoice = None
    if state is not None:
        # decision 32: an active subscription's plan sets the allowance, else the policy
        allowance = await monthly_report_allowance(uow, state.account.id, state.monthly_report_allowance)
        if allowance is not None:
            start, end = quota_window(request.accepted_at)
            used = await uow.repo(WorkOrderRepository).count_accepted_in_window(
                state.account.id, start, end, excluding=wo_id
            )
            quota = QuotaUsage(allowance, used)
        existing_hold = await uow.repo(LedgerRepository).latest_hold_for_ref(
            state.account.id, WORK_ORDER_REF_TYPE, wo_id, active_only=True
        )
        existing_invoice = await uow.repo(InvoiceRepository).live_for_work_order(wo_id)
    return decide_acceptance(
        request,
        account=state.account if state else None,
        policy=state.policy if state else None,
        balance=state.balance if state else CreditBalance.empty(),
        quota=quota,
        existing_hold=existing_hold,
        existing_invoice_id=existing_invoice,
        new_invoice_id=new_id(),
    )


async def accept_work_order(uow: UnitOfWork, command: AcceptWorkOrder) -> AcceptancePlan:
    """DATA_PENDING: resolve the payer, reserve a credit or draft the invoice, publish ACCEPTED/REJECTED."""
    ar = command.request
    wo_id = command.work_order_id
    work_orders = uow.repo(WorkOrderRepository)
    await work_orders.upsert(
        WorkOrderReference(
            work_order_id=wo_id,
            tenant_id=ar.tenant_id,
            billing_external_key=ar.billing_external_key,
            report_type=ar.report_type,
            bank_name=ar.bank_name,
            assignment_id=None,
            status=command.to_status,
            source_version=command.source_version,
        )
    )
    wo = await work_orders.require(wo_id, lock=True)
    now = utcnow()
    request = AcceptanceRequest(
        tenant_id=ar.tenant_id,
        work_order_id=wo_id,
        assignment_id=wo.assignment_id,
        report_type=ar.report_type,
        bank_name=ar.bank_name,
        billing_external_key=ar.billing_external_key,
        accepted_at=now,
    )
    payer = resolve_payer(request, None)
    account_id: str | None = None
    if payer.external_key is not None:
        account_id = await uow.repo(AccountRepository).id_by_key(payer.external_key)
        if account_id is None and payer.create is not None:
            account_id = await ensure_account(uow, payer.create)
    state = await lock_account(uow, account_id) if account_id else None
    plan = await _plan(uow, request, state, wo_id)
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
    accepted = plan.status is AcceptanceStatus.ACCEPTED
    if accepted and plan.reserve is not None and state is not None:
        try:
            applied = await reserve_credit(uow, ReserveAccountCredit(state.account.id, plan.reserve))
            hold_id = applied.outcome.result.hold_id
        except BillingError as exc:
            plan = rejection_from_error(exc, state.account.id)
    accepted = plan.status is AcceptanceStatus.ACCEPTED
    if accepted and plan.draft_invoice is not None:
        await uow.repo(InvoiceRepository).add_draft(plan.draft_invoice, work_order_id=wo_id)
    if accepted and plan.usage is not None and state is not None:
        await record_account_usage(
            uow, state, plan.usage.event_type, plan.usage.idempotency_key, dict(plan.usage.payload)
        )
    code = plan.rejection_code.value if plan.rejection_code else None
    version = await work_orders.record_acceptance(
        replace(
            wo,
            acceptance_status=plan.status.value,
            acceptance_code=code,
            acceptance_message=REJECTION_MESSAGES.get(code or "") if code else None,
            acceptance_details=dict(plan.details or {}),
            acceptance_request_message_id=command.message_id,
            acceptance_decided_at=now,
            accepted_at=(wo.accepted_at or now) if accepted else None,
            mode=plan.mode.value if plan.mode else (state.policy.billing_mode.value if state else None),
            account_id=state.account.id if state else None,
            external_key=state.account.external_key if state else payer.external_key,
            hold_id=hold_id if accepted else wo.hold_id,
            invoice_id=plan.service_invoice_id if accepted else wo.invoice_id,
        ),
    )
    await emit_work_order_billing(uow, wo_id, version, command.message_id)
    return plan


@dataclass(frozen=True, slots=True)
class LogPlannedConsumption:
    """A ``status_changed`` to READY_FOR_RENDER."""

    work_order_id: str
    to_status: str
    message_id: str
    source_version: int
    snapshot_version: object = None
    readiness_score: object = None


async def log_planned_consumption(uow: UnitOfWork, command: LogPlannedConsumption) -> None:
    """READY_FOR_RENDER: the planned-consumption usage event (no credit moves)."""
    work_orders = uow.repo(WorkOrderRepository)
    wo_id = command.work_order_id
    wo: WorkOrderRow | None = await work_orders.get(wo_id, lock=True)
    if wo is None:
        return
    await work_orders.set_status(wo_id, command.to_status, command.source_version)
    if wo.planned_consumption_logged or wo.account_id is None:
        return
    await record_usage(
        uow,
        "repogen_ready_for_render_planned",
        f"v2:repogen_ready_for_render_planned:{wo_id}",
        {
            "repogen_work_order_id": wo_id,
            "assignment_id": wo.assignment_id,
            "snapshot_version": command.snapshot_version,
            "readiness_score": command.readiness_score,
        },
        account_id=wo.account_id,
        tenant_id=wo.tenant_id,
    )
    version = await work_orders.mark_planned_consumption_logged(wo_id)
    await emit_work_order_billing(uow, wo_id, version, command.message_id)
