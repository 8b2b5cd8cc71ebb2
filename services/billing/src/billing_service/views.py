"""Wire shapes of the billing API: the response models and the functions that build them.

Enums are lower-case in storage and upper-case in responses (domain.md §0); timestamps are ISO-8601
UTC with milliseconds and ``Z``. The raw consume/release answer keeps V1's camelCase (§0 exception).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from billing_service.domain.accounts import BillingMode
from billing_service.domain.gate import GateInputs, billing_gate_status
from billing_service.domain.ledger import HoldStatus
from billing_service.handlers._common import iso
from billing_service.handlers.accounts import status_view
from billing_service.handlers.queries import TimelineItem, WorkOrderBillingState
from billing_service.handlers.reconcile import ReconcileReport, SweepFailure, SweptHold
from billing_service.handlers.release_gate import GateReplay
from billing_service.repositories import AccountState, CreditSummaryRow

JsonDict = dict[str, Any]
"""A free-form JSON object (metadata, payloads, stored gate inputs)."""


def _iso(value: object) -> object:
    return iso(value) if isinstance(value, datetime) else value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Instant = Annotated[str | None, BeforeValidator(_iso)]
"""A timestamp on the wire: ISO-8601 UTC with milliseconds and ``Z``."""
Upper = Annotated[str, BeforeValidator(_upper)]
"""An enum stored lower-case, answered upper-case."""


ViewT = TypeVar("ViewT", bound="View")


class View(BaseModel):
    """Base of the response models."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def of(cls, record: object) -> Self:
        """The view of a typed result (a stored row) whose attributes carry the view's fields."""
        return cls.model_validate(record, from_attributes=True)


class Credit(View):
    """An account's credit balance: ``available = wallet - reserved``."""

    wallet: int
    reserved: int
    available: int


class AccountStatusView(View):
    """The status view of an account (domain.md §7.1)."""

    account_id: str
    tenant_id: str
    account_type: str
    external_key: str
    display_name: str
    account_status: str
    billing_mode: str
    payment_terms_days: int
    credit_cost_model: str
    currency: str
    is_enabled: bool
    credit: Credit
    monthly_report_allowance: int | None


def account_status(state: AccountState) -> AccountStatusView:
    """The status view of a loaded account (the ``view`` the ``account_status`` event carries)."""
    return AccountStatusView.model_validate(status_view(state))


def _part(view: View, part: type[ViewT]) -> ViewT:
    """``part`` made of the same-named fields of ``view``."""
    return part.model_validate(view.model_dump(include=set(part.model_fields)))


class PolicyView(View):
    """An account's policy (the answer of a policy change)."""

    account_id: str
    billing_mode: str
    payment_terms_days: int
    credit_cost_model: str
    currency: str
    is_enabled: bool
    monthly_report_allowance: int | None


def policy(state: AccountState) -> PolicyView:
    """The policy of a loaded account."""
    return _part(account_status(state), PolicyView)


class AccountPolicyView(View):
    """The policy part of an account list item."""

    billing_mode: str
    payment_terms_days: int
    credit_cost_model: str
    currency: str
    is_enabled: bool
    monthly_report_allowance: int | None


class AccountListItem(View):
    """One account of the control plane's account list."""

    id: str
    tenant_id: str
    account_type: str
    external_key: str
    display_name: str
    status: str
    policy: AccountPolicyView
    credit: Credit


def account_list_item(state: AccountState) -> AccountListItem:
    """An account as listed by ``GET /control/tenant``."""
    view = account_status(state)
    return AccountListItem(
        id=view.account_id,
        status=view.account_status,
        policy=_part(view, AccountPolicyView),
        **view.model_dump(include={"tenant_id", "account_type", "external_key", "display_name", "credit"}),
    )


class TenantAccountCredit(View):
    """One account's balances in a tenant's credit overview."""

    account_id: str
    external_key: str
    display_name: str
    account_type: str
    account_status: str
    billing_mode: str
    payment_terms_days: int
    credit: Credit


class TenantCreditsView(View):
    """Balances of a tenant's accounts and their totals."""

    tenant_id: str
    account_count: int
    balance_total: int
    reserved_total: int
    available_total: int
    accounts: list[TenantAccountCredit]


def tenant_credits(tenant_id: str, states: list[AccountState]) -> TenantCreditsView:
    """The credit overview of one tenant."""
    return TenantCreditsView(
        tenant_id=tenant_id,
        account_count=len(states),
        balance_total=sum(s.balance.wallet for s in states),
        reserved_total=sum(s.balance.reserved for s in states),
        available_total=sum(s.balance.available for s in states),
        accounts=[_part(account_status(s), TenantAccountCredit) for s in states],
    )


HoldStatusName = Literal["ACTIVE", "CONSUMED", "RELEASED", "EXPIRED"]


class HoldView(View):
    """A reservation (domain.md §7.3), status upper-cased."""

    id: str
    tenant_id: str
    account_id: str
    amount: int
    status: Annotated[HoldStatusName, BeforeValidator(_upper)]
    ref_type: str
    ref_id: str
    idempotency_key: str
    created_at: Instant
    expires_at: Instant
    consumed_at: Instant
    released_at: Instant


class LedgerEntryView(View):
    """A ledger entry in lists (reason upper-cased, domain.md §7.11)."""

    id: str
    tenant_id: str
    account_id: str
    reservation_id: str | None
    delta: int
    reason: Upper
    ref_type: str | None
    ref_id: str | None
    idempotency_key: str
    metadata_json: JsonDict
    created_at: Instant


class LedgerEntryCamelView(LedgerEntryView):
    """The raw ledger row in camelCase with lower-case reason (V1's consume/release answer)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)

    reason: str


class UsageEventView(View):
    """A usage event (domain.md §7.5); no account and no tenant when unmatched."""

    id: str
    tenant_id: str | None
    source_system: Upper
    event_type: str
    account_id: str | None
    external_account_key: str | None
    payload_json: JsonDict
    idempotency_key: str
    unmatched: bool
    created_at: Instant


TimelineItemView = TimelineItem
"""A ledger entry (``CREDITS_LEDGER``), service invoice (``SERVICE_INVOICE``) or usage event
(``USAGE_V1``/``USAGE_V2``) on the timeline: the query's typed result is already its wire shape."""


class ReconcileView(View):
    """The reconciliation sweep's report (``consumed`` is always 0: the sweep only releases)."""

    dry_run: bool
    scanned: int
    consumed: int
    released: int
    skipped: int
    errors: list[SweepFailure]
    actions: list[SweptHold]


def reconcile(report: ReconcileReport) -> ReconcileView:
    """The sweep's report on the wire."""
    return ReconcileView(
        dry_run=report.dry_run,
        scanned=report.scanned,
        consumed=0,
        released=report.released,
        skipped=report.skipped,
        errors=report.errors,
        actions=report.actions,
    )


GateReplayView = GateReplay
"""A stored gate decision beside its re-decision; ``matches`` tells whether outcome and hash agree."""


class AcceptanceView(View):
    """The acceptance decision of a work order."""

    status: Literal["PENDING", "ACCEPTED", "REJECTED"]
    code: str | None
    message: str | None
    details: JsonDict
    decided_at: str | None
    request_message_id: str | None


class HoldStateView(View):
    """The work order's hold (status lower-case as stored)."""

    id: str
    status: Literal["active", "consumed", "released", "expired"]
    amount: int


class InvoiceStateView(View):
    """The work order's acceptance invoice (amounts in minor units)."""

    id: str
    number: str | None
    status: str
    is_paid: bool
    total_minor: int
    amount_due_minor: int
    currency: str


class LastGateView(View):
    """The latest release-gate decision of the work order."""

    release_id: str
    result: Literal["PAID", "CREDIT_CONSUMED", "OVERRIDE", "BLOCKED", "ERROR"]
    blocked_reason: str | None
    error_code: str | None
    decided_at: str


class BillingGateStatusView(View):
    """Would a release pass without override (FAC-10)?"""

    mode: str
    reservation_id_present: bool
    service_invoice_id: str | None
    service_invoice_status: str | None
    service_invoice_is_paid: bool | None
    releasable_without_override: bool


class WorkOrderBillingView(View):
    """Billing's state of one work order."""

    work_order_id: str
    tenant_id: str
    billing_external_key: str | None
    report_type: str
    status: str
    source_version: int
    billing_version: int
    acceptance: AcceptanceView | None
    mode: Literal["CREDIT", "POSTPAID"] | None
    account_id: str | None
    external_key: str | None
    hold: HoldStateView | None
    invoice: InvoiceStateView | None
    planned_consumption_logged: bool
    last_gate: LastGateView | None
    billing_gate_status: BillingGateStatusView


class WorkOrderBillingEnvelope(View):
    """``GET /v1/billing/work-orders/{id}``: the state under ``work_order_billing``."""

    work_order_billing: WorkOrderBillingView


def work_order_billing(found: WorkOrderBillingState) -> WorkOrderBillingEnvelope:
    """A work order's billing state with its gate status on the wire."""
    row, state = found.row, found.billing
    active_hold = state.hold if state.hold and state.hold.status == "active" else None
    known_hold = state.hold if state.hold and state.hold.status != "expired" else None
    projected = GateInputs(
        BillingMode(row.mode) if row.mode else BillingMode.POSTPAID,
        hold_id=active_hold.id if active_hold else None,
        hold_status=HoldStatus(known_hold.status) if known_hold else None,
        invoice_id=state.invoice.id if state.invoice else None,
        invoice_status=state.invoice.status if state.invoice else None,
        invoice_is_paid=state.invoice.is_paid if state.invoice else None,
    )
    gate_status = billing_gate_status(projected)
    body: JsonDict = {
        "work_order_id": row.work_order_id,
        "tenant_id": row.tenant_id,
        "billing_external_key": row.billing_external_key,
        "report_type": row.report_type,
        "status": row.status,
        "source_version": row.source_version,
        "billing_version": row.billing_version,
        **state.model_dump(mode="json"),
        "billing_gate_status": gate_status,
    }
    return WorkOrderBillingEnvelope(work_order_billing=WorkOrderBillingView.model_validate(body))


class CreditSummaryView(View):
    """``GET /v1/billing/credits/summary``: the caller's tenant's active accounts (domain.md §7.11)."""

    tenant_id: str
    account_count: int
    wallet: int
    reserved: int
    available: int
    primary_account_id: str | None


def credit_summary(tenant_id: str, row: CreditSummaryRow) -> CreditSummaryView:
    """The summary of one tenant on the wire."""
    return CreditSummaryView(tenant_id=tenant_id, **asdict(row))
