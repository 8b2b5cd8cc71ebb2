"""``billing.work-order-billing.v1``, ``billing.gate-outcome.v1``, ``billing.account-status.v1``."""

from __future__ import annotations

from typing import Any, Literal

from shared.contracts.base import Contract, Event
from shared.contracts.topics import BILLING_ACCOUNT_STATUS, BILLING_GATE_OUTCOME, BILLING_WORK_ORDER_BILLING

GateResult = Literal["PAID", "CREDIT_CONSUMED", "OVERRIDE", "BLOCKED", "ERROR"]
BillingMode = Literal["CREDIT", "POSTPAID"]


class Acceptance(Contract):
    status: Literal["PENDING", "ACCEPTED", "REJECTED"]
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = {}
    decided_at: str | None = None
    # The status_changed message this acceptance answers (lets workorders match request and outcome).
    request_message_id: str | None = None


class HoldState(Contract):
    id: str
    status: Literal["active", "consumed", "released", "expired"]
    amount: int


class InvoiceState(Contract):
    id: str
    number: str | None = None
    status: str
    is_paid: bool
    total_minor: int
    amount_due_minor: int
    currency: str = "INR"


class LastGate(Contract):
    release_id: str
    result: GateResult
    blocked_reason: str | None = None
    error_code: str | None = None
    decided_at: str


class WorkOrderBilling(Event, topic=BILLING_WORK_ORDER_BILLING, type="work_order_billing"):
    """The billing state of one work order (compacted: the newest record per key is the truth)."""

    work_order_id: str
    acceptance: Acceptance | None = None
    mode: BillingMode | None = None
    account_id: str | None = None
    external_key: str | None = None
    hold: HoldState | None = None
    invoice: InvoiceState | None = None
    planned_consumption_logged: bool = False
    last_gate: LastGate | None = None


class GateDecided(Event, topic=BILLING_GATE_OUTCOME, type="gate_decided"):
    """The release gate decided a release: result, reason or error code, ledger ids and decision hash."""

    decision_id: str
    release_id: str
    work_order_id: str
    idempotency_key: str
    mode: BillingMode | None
    result: GateResult
    blocked_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    override_applied: bool = False
    ledger_entry_ids: list[str] = []
    usage_event_id: str | None = None
    decision_hash: str
    metadata: dict[str, Any] = {}


class Balances(Contract):
    wallet: int
    reserved: int
    available: int


class AccountStatus(Event, topic=BILLING_ACCOUNT_STATUS, type="account_status"):
    """The status view of one billing account (domain.md §7.1) incl. external key and credit balances."""

    account_id: str
    tenant_id: str | None
    external_key: str
    account_type: str
    display_name: str
    status: str
    billing_mode: str
    payment_terms_days: int | None = None
    credit: Balances
    view: dict[str, Any] = {}
