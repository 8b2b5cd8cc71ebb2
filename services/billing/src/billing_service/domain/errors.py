"""Billing domain errors: one class per failure, each carrying a stable code and an HTTP status.

The HTTP layer renders them as the normalized body ``{"code", "message", "details"}``; the codes and
messages are the ones clients of the original API rely on (domain.md §7, vectors H/J).
"""

from __future__ import annotations

from shared.consistency import ProjectedNotFound
from shared.errors import DomainError


class BillingError(DomainError, code="BILLING_ERROR", status=400):
    """Base of every billing domain failure.

    Subclasses fix ``code`` and ``status``; ``message`` defaults to the code unless the original
    API used a human-readable message for that failure.
    """


# --- input validation (400) ---------------------------------------------------------------------------


class InvalidAmount(BillingError, code="INVALID_AMOUNT"):
    """A money amount is not a finite number with at most two decimals (or has the wrong currency)."""


class AmountNotPositive(BillingError, code="AMOUNT_NOT_POSITIVE", message="amount must be positive"):
    """An amount that must be > 0 was zero or negative."""


class InvalidExternalKey(
    BillingError,
    code="INVALID_EXTERNAL_KEY",
    message="external_key must match v1:{partner|client|assignment|invoice}:* or v2:{tenant|external}:*",
):
    """An external account key does not follow the v1:/v2: grammar (domain.md §7.1)."""


class InvalidGrantReason(
    BillingError, code="INVALID_GRANT_REASON", message="reason must be GRANT, TOPUP, or ADJUSTMENT"
):
    """A grant used a reason other than grant/topup/adjustment."""


class InvalidPaymentTerms(
    BillingError, code="INVALID_PAYMENT_TERMS", message="payment_terms_days must be > 0"
):
    """Payment terms must be a positive number of days."""


# --- accounts and policies (409) -----------------------------------------------------------------------


class AccountTenantMismatch(
    BillingError,
    code="ACCOUNT_TENANT_MISMATCH",
    status=409,
    message="external_key belongs to an account of another tenant",
):
    """An upsert by external key named another tenant than the account's (decision 18)."""


class AccountNotActive(BillingError, code="ACCOUNT_NOT_ACTIVE", status=409):
    """The account is suspended or its policy is disabled."""


class BillingModeNotCredit(BillingError, code="BILLING_MODE_NOT_CREDIT", status=409):
    """A credit operation was requested on an account whose policy is not CREDIT."""


class CreditModeRequiresCredits(
    BillingError,
    code="CREDIT_MODE_REQUIRES_AVAILABLE_CREDITS",
    status=409,
    message="available credits must be > 0 before enabling CREDIT mode",
):
    """Switching to CREDIT mode with nothing available and without force (BIL-10)."""


class LimitExceeded(BillingError, code="LIMIT_EXCEEDED", status=409):
    """The plan's monthly report allowance is used up (decision 32)."""


# --- credits ledger -----------------------------------------------------------------------------------


class InsufficientCredits(BillingError, code="INSUFFICIENT_CREDITS", status=409):
    """Available credits are below the requested amount."""


class WalletLimitExceeded(
    BillingError,
    code="CREDIT_WALLET_LIMIT_EXCEEDED",
    status=409,
    message="the account would hold more credits than allowed",
):
    """The wallet would exceed the most credits one account may hold (issue 12: a business maximum far
    below the bigint column, so no sum can overflow)."""


class ReservationNotFound(
    BillingError, code="RESERVATION_NOT_FOUND", status=404, message="reservation not found"
):
    """No hold matches the given id or reference."""


class ReservationAlreadyConsumed(BillingError, code="RESERVATION_ALREADY_CONSUMED", status=409):
    """The hold was already posted."""


class ReservationAlreadyReleased(BillingError, code="RESERVATION_ALREADY_RELEASED", status=409):
    """The hold was already voided or expired."""


class ReservationExpired(BillingError, code="RESERVATION_EXPIRED", status=409):
    """The hold passed its expiry and can no longer be posted (TigerBeetle: pending_transfer_expired)."""


class ActiveReservationExists(BillingError, code="ACTIVE_RESERVATION_EXISTS", status=409):
    """Another idempotency key already holds an active reservation for the same reference."""


class InvalidConsumeAmount(BillingError, code="INVALID_CONSUME_AMOUNT"):
    """A partial post must be > 0 and not exceed the held amount."""


class IdempotencyKeyRequired(BillingError, code="IDEMPOTENCY_KEY_REQUIRED"):
    """A mutating operation was called without a (non-blank) idempotency key."""


class IdempotencyKeyReused(BillingError, code="IDEMPOTENCY_KEY_REUSED", status=409):
    """The key was already used with different parameters (decision 17, architecture §5)."""


class CreditBalanceInvariantFailed(BillingError, code="CREDIT_BALANCE_INVARIANT_FAILED", status=409):
    """wallet − reserved = available with all ≥ 0 would not hold; a bug or corrupted row."""


# --- service invoices (domain.md §7.6 messages, INV-04..06) ---------------------------------------------


class InvoiceNotDraft(
    BillingError, code="INVOICE_NOT_DRAFT", status=409, message="Only DRAFT invoices can be updated"
):
    """Only draft invoices can be edited."""


class InvoiceAlreadyIssued(
    BillingError, code="INVOICE_ALREADY_ISSUED", status=409, message="Invoice already issued"
):
    """Issue of an invoice that is no longer a draft."""


class InvoiceNotSendable(
    BillingError, code="INVOICE_NOT_SENDABLE", status=409, message="Invoice not in sendable state"
):
    """Send is only possible from issued, sent or partially paid."""


class InvoiceHasPayments(
    BillingError, code="INVOICE_HAS_PAYMENTS", status=409, message="Cannot void invoice with payments"
):
    """A paid (even partially) invoice cannot be voided."""


class InvoiceNotPayable(
    BillingError, code="INVOICE_NOT_PAYABLE", status=409, message="Invoice is not payable"
):
    """Payments are refused on draft and void invoices."""


class InvoiceAlreadySettled(
    BillingError, code="INVOICE_ALREADY_SETTLED", status=409, message="Invoice already settled"
):
    """Nothing is due any more."""


class AmountExceedsDue(BillingError, code="AMOUNT_EXCEEDS_DUE", message="amount exceeds due"):
    """A payment larger than the amount due."""


class InvoiceNotAdjustable(
    BillingError, code="INVOICE_NOT_ADJUSTABLE", status=409, message="Invoice is not adjustable"
):
    """Adjustments are refused on draft and void invoices."""


class InvoiceNotRemindable(
    BillingError, code="INVOICE_NOT_REMINDABLE", status=409, message="Invoice already settled or voided"
):
    """Reminders need an amount due on a non-void invoice."""


# --- lookups (404/400) ---------------------------------------------------------------------------------


class AccountNotFound(
    BillingError, code="ACCOUNT_NOT_FOUND", status=404, message="billing account not found"
):
    """No billing account has the given id or external key."""


class ExternalKeyRequired(BillingError, code="EXTERNAL_KEY_REQUIRED", message="external_key is required"):
    """``GET /accounts/status`` without ``external_key``."""


class AccountReferenceRequired(
    BillingError, code="ACCOUNT_REFERENCE_REQUIRED", message="account_id or external_key is required"
):
    """A credit operation named neither an account id, an external key nor a reservation."""


class GateDecisionNotFound(
    BillingError, code="GATE_DECISION_NOT_FOUND", status=404, message="gate decision not found"
):
    """No stored gate decision has this id (or release id)."""


class AccountOrTenantRequired(
    BillingError, code="ACCOUNT_OR_TENANT_REQUIRED", message="account_id or tenant_id is required"
):
    """A timeline was asked for without an account or a tenant to scope it."""


class InvalidCursor(
    BillingError, code="INVALID_CURSOR", message="cursor is not one this list answered in x-next-cursor"
):
    """A page cursor that was not produced by the list it is sent to (malformed, altered or too long)."""


class IdNotFound(BillingError, code="NOT_FOUND", status=404):
    """An id in a path or query is not a uuid, so nothing can have it (never a 500)."""


class WorkOrderBillingNotFound(ProjectedNotFound, BillingError, code="WORK_ORDER_NOT_FOUND", status=404):
    """Billing holds no state for this work order in the caller's tenant; 503 ``NOT_YET_CONSISTENT``
    instead while its projection of the work order may be behind (issue 19; ``aggregate_id``: the work
    order)."""


# --- subscriptions (§7.7) -------------------------------------------------------------------------------


class SubscriptionNotFound(
    BillingError, code="SUBSCRIPTION_NOT_FOUND", status=404, message="subscription not found"
):
    """No subscription has this id."""


class SubscriptionAccountMismatch(
    BillingError, code="ACCOUNT_TENANT_MISMATCH", status=409, message="account does not belong to tenant"
):
    """A subscription named an account of another tenant (§7.7 create)."""


class NoAccountForTenant(
    BillingError, code="ACCOUNT_NOT_FOUND", status=404, message="no billing account found for tenant"
):
    """A subscription create without an account for a tenant that has no active account (§7.7)."""
