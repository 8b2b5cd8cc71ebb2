"""Billing domain errors: one class per failure, each carrying a stable code and an HTTP status.

The HTTP layer renders them as the normalized body ``{"code", "message", "details"}``; the codes and
messages are the ones clients of the original API rely on (domain.md §7, vectors H/J).
"""

from __future__ import annotations

from shared.errors import DomainError


class BillingError(DomainError):
    """Base of every billing domain failure.

    Subclasses fix ``code`` and ``status``; ``message`` defaults to the code unless the original
    API used a human-readable message for that failure.
    """

    code = "BILLING_ERROR"
    status = 400


# --- input validation (400) ---------------------------------------------------------------------------


class InvalidAmount(BillingError):
    """A money amount is not a finite number with at most two decimals (or has the wrong currency)."""

    code = "INVALID_AMOUNT"


class AmountNotPositive(BillingError):
    """An amount that must be > 0 was zero or negative."""

    code = "AMOUNT_NOT_POSITIVE"
    default_message = "amount must be positive"


class InvalidExternalKey(BillingError):
    """An external account key does not follow the v1:/v2: grammar (domain.md §7.1)."""

    code = "INVALID_EXTERNAL_KEY"
    default_message = (
        "external_key must match v1:{partner|client|assignment|invoice}:* or v2:{tenant|external}:*"
    )


class InvalidGrantReason(BillingError):
    """A grant used a reason other than grant/topup/adjustment."""

    code = "INVALID_GRANT_REASON"
    default_message = "reason must be GRANT, TOPUP, or ADJUSTMENT"


class InvalidPaymentTerms(BillingError):
    """Payment terms must be a positive number of days."""

    code = "INVALID_PAYMENT_TERMS"
    default_message = "payment_terms_days must be > 0"


# --- accounts and policies (409) -----------------------------------------------------------------------


class AccountTenantMismatch(BillingError):
    """An upsert by external key named another tenant than the account's (decision 18)."""

    code = "ACCOUNT_TENANT_MISMATCH"
    status = 409
    default_message = "external_key belongs to an account of another tenant"


class AccountNotActive(BillingError):
    """The account is suspended or its policy is disabled."""

    code = "ACCOUNT_NOT_ACTIVE"
    status = 409


class BillingModeNotCredit(BillingError):
    """A credit operation was requested on an account whose policy is not CREDIT."""

    code = "BILLING_MODE_NOT_CREDIT"
    status = 409


class CreditModeRequiresCredits(BillingError):
    """Switching to CREDIT mode with nothing available and without force (BIL-10)."""

    code = "CREDIT_MODE_REQUIRES_AVAILABLE_CREDITS"
    status = 409
    default_message = "available credits must be > 0 before enabling CREDIT mode"


class LimitExceeded(BillingError):
    """The plan's monthly report allowance is used up (decision 32)."""

    code = "LIMIT_EXCEEDED"
    status = 409


# --- credits ledger -----------------------------------------------------------------------------------


class InsufficientCredits(BillingError):
    """Available credits are below the requested amount."""

    code = "INSUFFICIENT_CREDITS"
    status = 409


class WalletLimitExceeded(BillingError):
    """The wallet would exceed the most credits one account may hold (issue 12: a business maximum far
    below the bigint column, so no sum can overflow)."""

    code = "CREDIT_WALLET_LIMIT_EXCEEDED"
    status = 409
    default_message = "the account would hold more credits than allowed"


class ReservationNotFound(BillingError):
    """No hold matches the given id or reference."""

    code = "RESERVATION_NOT_FOUND"
    status = 404
    default_message = "reservation not found"


class ReservationAlreadyConsumed(BillingError):
    """The hold was already posted."""

    code = "RESERVATION_ALREADY_CONSUMED"
    status = 409


class ReservationAlreadyReleased(BillingError):
    """The hold was already voided or expired."""

    code = "RESERVATION_ALREADY_RELEASED"
    status = 409


class ReservationExpired(BillingError):
    """The hold passed its expiry and can no longer be posted (TigerBeetle: pending_transfer_expired)."""

    code = "RESERVATION_EXPIRED"
    status = 409


class ActiveReservationExists(BillingError):
    """Another idempotency key already holds an active reservation for the same reference."""

    code = "ACTIVE_RESERVATION_EXISTS"
    status = 409


class InvalidConsumeAmount(BillingError):
    """A partial post must be > 0 and not exceed the held amount."""

    code = "INVALID_CONSUME_AMOUNT"


class IdempotencyKeyRequired(BillingError):
    """A mutating operation was called without a (non-blank) idempotency key."""

    code = "IDEMPOTENCY_KEY_REQUIRED"


class IdempotencyKeyReused(BillingError):
    """The key was already used with different parameters (decision 17, architecture §5)."""

    code = "IDEMPOTENCY_KEY_REUSED"
    status = 409


class CreditBalanceInvariantFailed(BillingError):
    """wallet − reserved = available with all ≥ 0 would not hold; a bug or corrupted row."""

    code = "CREDIT_BALANCE_INVARIANT_FAILED"
    status = 409


# --- service invoices (domain.md §7.6 messages, INV-04..06) ---------------------------------------------


class InvoiceNotDraft(BillingError):
    """Only draft invoices can be edited."""

    code = "INVOICE_NOT_DRAFT"
    status = 409
    default_message = "Only DRAFT invoices can be updated"


class InvoiceAlreadyIssued(BillingError):
    """Issue of an invoice that is no longer a draft."""

    code = "INVOICE_ALREADY_ISSUED"
    status = 409
    default_message = "Invoice already issued"


class InvoiceNotSendable(BillingError):
    """Send is only possible from issued, sent or partially paid."""

    code = "INVOICE_NOT_SENDABLE"
    status = 409
    default_message = "Invoice not in sendable state"


class InvoiceHasPayments(BillingError):
    """A paid (even partially) invoice cannot be voided."""

    code = "INVOICE_HAS_PAYMENTS"
    status = 409
    default_message = "Cannot void invoice with payments"


class InvoiceNotPayable(BillingError):
    """Payments are refused on draft and void invoices."""

    code = "INVOICE_NOT_PAYABLE"
    status = 409
    default_message = "Invoice is not payable"


class InvoiceAlreadySettled(BillingError):
    """Nothing is due any more."""

    code = "INVOICE_ALREADY_SETTLED"
    status = 409
    default_message = "Invoice already settled"


class AmountExceedsDue(BillingError):
    """A payment larger than the amount due."""

    code = "AMOUNT_EXCEEDS_DUE"
    default_message = "amount exceeds due"


class InvoiceNotAdjustable(BillingError):
    """Adjustments are refused on draft and void invoices."""

    code = "INVOICE_NOT_ADJUSTABLE"
    status = 409
    default_message = "Invoice is not adjustable"


class InvoiceNotRemindable(BillingError):
    """Reminders need an amount due on a non-void invoice."""

    code = "INVOICE_NOT_REMINDABLE"
    status = 409
    default_message = "Invoice already settled or voided"


# --- lookups (404/400) ---------------------------------------------------------------------------------


class AccountNotFound(BillingError):
    """No billing account has the given id or external key."""

    code = "ACCOUNT_NOT_FOUND"
    status = 404
    default_message = "billing account not found"


class ExternalKeyRequired(BillingError):
    """``GET /accounts/status`` without ``external_key``."""

    code = "EXTERNAL_KEY_REQUIRED"
    default_message = "external_key is required"


class AccountReferenceRequired(BillingError):
    """A credit operation named neither an account id, an external key nor a reservation."""

    code = "ACCOUNT_REFERENCE_REQUIRED"
    default_message = "account_id or external_key is required"


class GateDecisionNotFound(BillingError):
    """No stored gate decision has this id (or release id)."""

    code = "GATE_DECISION_NOT_FOUND"
    status = 404
    default_message = "gate decision not found"


class AccountOrTenantRequired(BillingError):
    """A timeline was asked for without an account or a tenant to scope it."""

    code = "ACCOUNT_OR_TENANT_REQUIRED"
    default_message = "account_id or tenant_id is required"


class IdNotFound(BillingError):
    """An id in a path or query is not a uuid, so nothing can have it (never a 500)."""

    code = "NOT_FOUND"
    status = 404


class WorkOrderBillingNotFound(BillingError):
    """Billing holds no state for this work order in the caller's tenant."""

    code = "WORK_ORDER_NOT_FOUND"
    status = 404
