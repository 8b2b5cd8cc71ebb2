"""Work acceptance (DATA_PENDING) → billing, and compensation on CANCELLED/CLOSED, as pure decisions.

Architecture §4 "Which account pays", "Acceptance", "Compensation"; domain.md §7.10; decisions 10, 11,
31 and 32. The handler loads what ``decide_acceptance`` needs, applies the plan (reserve through
``ledger.reserve``, or insert the draft invoice), records the usage event and publishes the work
order's billing state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from billing_service.domain.accounts import (
    Account,
    AccountStatus,
    AccountUpsert,
    BillingMode,
    Policy,
    api_enum,
    implicit_tenant_account,
    normalize_external_key,
    tenant_account_key,
)
from billing_service.domain.errors import BillingError, InvalidExternalKey
from billing_service.domain.invoices import IST, DraftInvoice, InvoiceItem, InvoiceStatus
from billing_service.domain.ledger import WORK_ORDER_REF_TYPE, CreditBalance, Hold, HoldStatus, ReserveCredit
from billing_service.domain.money import Money

ACCEPTANCE_UNIT_PRICE = Money(Decimal("100.00"), "INR")
ACCEPTANCE_USAGE_EVENT = "repogen_work_accepted"


class AcceptanceStatus(StrEnum):
    """The acceptance state published in ``billing.work-order-billing.v1``."""

    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class RejectionCode(StrEnum):
    """Why billing refused to accept a work order."""

    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    ACCOUNT_NOT_ACTIVE = "ACCOUNT_NOT_ACTIVE"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


@dataclass(frozen=True, slots=True)
class AcceptanceRequest:
    """The acceptance request carried by ``status_changed`` to DATA_PENDING."""

    tenant_id: str
    work_order_id: str
    assignment_id: str | None
    report_type: str
    bank_name: str
    billing_external_key: str | None
    accepted_at: datetime


def reserve_key(work_order_id: str) -> str:
    """Ledger key of the acceptance hold."""
    return f"repogen_accept_reserve:{work_order_id}"


def usage_key(work_order_id: str) -> str:
    """Usage idempotency key of the acceptance."""
    return f"repogen_accept:{work_order_id}"


def invoice_marker(work_order_id: str) -> str:
    """The marker that finds a work order's acceptance invoice in the notes."""
    return f"[REPOGEN_WO:{work_order_id}]"


# --- which account pays ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayerResolution:
    """The key to look up, and the account to create first when it is the tenant's implicit one."""

    external_key: str | None
    create: AccountUpsert | None
    invalid_key: bool = False


def resolve_payer(request: AcceptanceRequest, existing: Account | None) -> PayerResolution:
    """``billing_external_key`` if named, else ``v2:tenant:<tenant_id>`` (created POSTPAID on first use).

    A named key is never created implicitly: a typo must not open a phantom account, so a missing or
    malformed named key ends in a rejection (``decide_acceptance`` with ``account=None``).
    """
    implicit = tenant_account_key(request.tenant_id)
    if request.billing_external_key is None or not request.billing_external_key.strip():
        key = implicit
    else:
        try:
            key = normalize_external_key(request.billing_external_key)
        except InvalidExternalKey:
            return PayerResolution(external_key=None, create=None, invalid_key=True)
    if existing is None and key == implicit:
        return PayerResolution(external_key=key, create=implicit_tenant_account(request.tenant_id))
    return PayerResolution(external_key=key, create=None)


# --- quota (decision 32) --------------------------------------------------------------------------------


def quota_period(instant: datetime) -> str:
    """``YYYY-MM`` of the calendar month in Asia/Kolkata containing ``instant``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(IST)
    return f"{local.year:04d}-{local.month:02d}"


def quota_window(instant: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of that IST calendar month, as aware instants (for the counting query)."""
    local = instant.astimezone(IST)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """The plan's allowance (None = unlimited) and how many *other* work orders of the account were
    accepted in the IST month of this acceptance."""

    monthly_report_allowance: int | None = None
    accepted_in_period: int = 0


# --- the decision ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """A usage event to ingest (source ``v2``)."""

    event_type: str
    idempotency_key: str
    payload: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class AcceptancePlan:
    """ACCEPTED with exactly one of ``reserve`` / ``draft_invoice`` / ``existing_invoice_id``, or
    REJECTED with a code and details."""

    status: AcceptanceStatus
    mode: BillingMode | None = None
    account_id: str | None = None
    reserve: ReserveCredit | None = None
    draft_invoice: DraftInvoice | None = None
    existing_invoice_id: str | None = None
    usage: UsageEvent | None = None
    rejection_code: RejectionCode | None = None
    details: dict[str, str | int | None] | None = None

    @property
    def service_invoice_id(self) -> str | None:
        """The acceptance invoice (new draft or found)."""
        if self.draft_invoice is not None:
            return self.draft_invoice.id
        return self.existing_invoice_id

    def response(self, reservation_id: str | None = None) -> dict[str, str | None]:
        """``{mode, account_id, reservation_id, service_invoice_id}`` once the plan is applied."""
        return {
            "mode": api_enum(self.mode) if self.mode else None,
            "account_id": self.account_id,
            "reservation_id": reservation_id,
            "service_invoice_id": self.service_invoice_id,
        }


def _reject(code: RejectionCode, account_id: str | None, **details: str | int | None) -> AcceptancePlan:
    return AcceptancePlan(
        status=AcceptanceStatus.REJECTED, account_id=account_id, rejection_code=code, details=dict(details)
    )


def rejection_from_error(error: BillingError, account_id: str | None) -> AcceptancePlan:
    """Map a ledger failure during the reserve to a rejection (the saga never surfaces a 4xx here).

    Anything that is not one of the acceptance codes (e.g. ``BILLING_MODE_NOT_CREDIT`` after a
    concurrent policy change) is reported as ``ACCOUNT_NOT_ACTIVE`` with the original code in details.
    """
    try:
        code = RejectionCode(error.code)
    except ValueError:
        return _reject(RejectionCode.ACCOUNT_NOT_ACTIVE, account_id, reason=error.code)
    return _reject(code, account_id, **{k: v for k, v in error.details.items() if not isinstance(v, bool)})


def acceptance_draft_invoice(
    request: AcceptanceRequest, account: Account, *, invoice_id: str
) -> DraftInvoice:
    """INV-07: draft, one item "Repogen <TYPE> work order" 1 × 100 INR, notes with the marker."""
    report_type = request.report_type.upper()
    item = InvoiceItem.normalized(
        f"Repogen {report_type} work order", Decimal(1), ACCEPTANCE_UNIT_PRICE, order_index=0
    )
    return DraftInvoice(
        id=invoice_id,
        tenant_id=request.tenant_id,
        account_id=account.id,
        notes=f"{invoice_marker(request.work_order_id)} Repogen {report_type} work order for {request.bank_name}",
        bill_to_name=account.display_name,
        items=(item,),
        currency=ACCEPTANCE_UNIT_PRICE.currency,
        assignment_id=request.assignment_id,
        status=InvoiceStatus.DRAFT,
    )


def decide_acceptance(
    request: AcceptanceRequest,
    *,
    account: Account | None,
    policy: Policy | None,
    balance: CreditBalance,
    quota: QuotaUsage,
    existing_hold: Hold | None,
    existing_invoice_id: str | None,
    new_invoice_id: str,
) -> AcceptancePlan:
    """Accept or reject one work order.

    Checks in order: an account of this tenant exists and is active with an enabled policy
    (``ACCOUNT_NOT_ACTIVE``); the monthly allowance (``LIMIT_EXCEEDED``); for CREDIT one available
    credit (``INSUFFICIENT_CREDITS``). A work order that already holds its acceptance credit or has its
    acceptance invoice is accepted again without counting twice (redelivery, reopen per decision 29).
    """
    if account is None:
        return _reject(RejectionCode.ACCOUNT_NOT_ACTIVE, None, reason="account_not_found")
    if account.tenant_id != request.tenant_id:
        # Never bill one tenant's work to another tenant's account.
        return _reject(RejectionCode.ACCOUNT_NOT_ACTIVE, None, reason="account_of_another_tenant")
    effective = policy or Policy()
    if account.status is not AccountStatus.ACTIVE or not effective.is_enabled:
        return _reject(
            RejectionCode.ACCOUNT_NOT_ACTIVE,
            account.id,
            account_status=api_enum(account.status),
            reason="account_suspended" if account.status is not AccountStatus.ACTIVE else "policy_disabled",
        )
    mode = effective.billing_mode
    held = existing_hold is not None and existing_hold.status is HoldStatus.ACTIVE
    already_accepted = (held and mode is BillingMode.CREDIT) or (
        existing_invoice_id is not None and mode is BillingMode.POSTPAID
    )
    allowance = quota.monthly_report_allowance
    if not already_accepted and allowance is not None and quota.accepted_in_period >= allowance:
        return _reject(
            RejectionCode.LIMIT_EXCEEDED,
            account.id,
            allowance=allowance,
            used=quota.accepted_in_period,
            remaining=max(0, allowance - quota.accepted_in_period),
            period=quota_period(request.accepted_at),
        )
    payload: dict[str, str | None] = {
        "repogen_work_order_id": request.work_order_id,
        "assignment_id": request.assignment_id,
        "report_type": request.report_type.upper(),
        "bank_name": request.bank_name,
    }
    if mode is BillingMode.CREDIT:
        if not already_accepted and balance.available < 1:
            return _reject(
                RejectionCode.INSUFFICIENT_CREDITS, account.id, available=balance.available, required=1
            )
        return AcceptancePlan(
            status=AcceptanceStatus.ACCEPTED,
            mode=mode,
            account_id=account.id,
            reserve=ReserveCredit(
                idempotency_key=reserve_key(request.work_order_id),
                ref_type=WORK_ORDER_REF_TYPE,
                ref_id=request.work_order_id,
                amount=1,
            ),
            usage=UsageEvent(ACCEPTANCE_USAGE_EVENT, usage_key(request.work_order_id), payload),
        )
    draft = None
    if existing_invoice_id is None:
        draft = acceptance_draft_invoice(request, account, invoice_id=new_invoice_id)
    invoice_id = existing_invoice_id or new_invoice_id
    return AcceptancePlan(
        status=AcceptanceStatus.ACCEPTED,
        mode=mode,
        account_id=account.id,
        draft_invoice=draft,
        existing_invoice_id=existing_invoice_id,
        usage=UsageEvent(
            ACCEPTANCE_USAGE_EVENT,
            usage_key(request.work_order_id),
            {**payload, "service_invoice_id": invoice_id},
        ),
    )


# --- compensation (decision 10) -------------------------------------------------------------------------


class CompensationKind(StrEnum):
    """What a terminal work-order status triggers."""

    RELEASE_HOLD = "release_hold"
    VOID_INVOICE = "void_invoice"


@dataclass(frozen=True, slots=True)
class CompensationAction:
    """One compensation step; ``reason`` becomes the release reason / void reason."""

    kind: CompensationKind
    reason: str


def compensation_for(
    status: str,
    hold_status: HoldStatus | None,
    invoice_status: InvoiceStatus | None,
    has_successful_release: bool,
) -> tuple[CompensationAction, ...]:
    """Decision 10: CANCELLED releases an active hold and voids a draft acceptance invoice; CLOSED
    without a successful release releases the hold and keeps the invoice; after a successful release
    nothing changes (deliverables are out: neither CANCELLED nor CLOSED gives the money back)."""
    target = status.upper()
    if target not in ("CANCELLED", "CLOSED") or has_successful_release:
        return ()
    actions: list[CompensationAction] = []
    if hold_status is HoldStatus.ACTIVE:
        actions.append(CompensationAction(CompensationKind.RELEASE_HOLD, target.lower()))
    if target == "CANCELLED" and invoice_status is InvoiceStatus.DRAFT:
        actions.append(CompensationAction(CompensationKind.VOID_INVOICE, "work order cancelled"))
    return tuple(actions)


def compensation_release_key(work_order_id: str, reason: str) -> str:
    """Ledger key of a compensation release: ``repogen_<reason>_release:<wo>``."""
    return f"repogen_{reason}_release:{work_order_id}"
