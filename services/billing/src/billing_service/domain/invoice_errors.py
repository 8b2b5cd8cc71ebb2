"""Failures of the service-invoice routes (domain.md §7.6, §9.3) beyond the lifecycle guards of
``errors.py``: lookups, access, refusals of the request itself. Codes are stable; messages are the
original API's where it had one."""

from __future__ import annotations

from billing_service.domain.errors import BillingError


class InvoiceNotFound(BillingError, code="INVOICE_NOT_FOUND", status=404, message="Invoice not found"):
    """No invoice with this id in the caller's tenant (another tenant's invoice is not found either)."""


class InvoiceReadForbidden(
    BillingError, code="INVOICE_READ_FORBIDDEN", status=403, message="missing invoices.read capability"
):
    """assertCanRead: super admin, any portal token, or invoices.read / invoices.write."""


class InvoiceWriteForbidden(
    BillingError, code="INVOICE_WRITE_FORBIDDEN", status=403, message="missing invoices.write capability"
):
    """assertCanWrite: super admin, or invoices.write / billing:write."""


class PortalInvoiceWriteForbidden(
    BillingError,
    code="PORTAL_INVOICE_WRITE_FORBIDDEN",
    status=403,
    message="portal users cannot modify invoices",
):
    """assertCanWrite refuses every portal token."""


class InvoiceTenantRequired(
    BillingError, code="TENANT_CONTEXT_REQUIRED", status=403, message="tenant context required"
):
    """§9.3: an invoice route without a tenant in the token is 403 (not §9.1's 400)."""


class ReasonRequired(BillingError, code="REASON_REQUIRED", message="reason is required"):
    """Void needs a non-blank reason."""


class InvoiceIdempotencyKeyRequired(
    BillingError, code="IDEMPOTENCY_KEY_REQUIRED", message="Idempotency-Key header is required"
):
    """Remind needs the ``Idempotency-Key`` header."""


class InvalidCursor(BillingError, code="INVALID_CURSOR", message="cursor is not valid"):
    """The list's ``cursor`` is not one this service handed out."""


class InvalidInvoiceFilter(BillingError, code="INVALID_FILTER"):
    """A list filter has a value outside its domain (unknown status, reversed date range)."""


class InvoiceAccountMismatch(
    BillingError,
    code="INVOICE_ACCOUNT_MISMATCH",
    status=409,
    message="account_id and external_key name different accounts",
):
    """A create named an account by id and by key, and they differ."""


class PaymentProofDocumentUnknown(
    BillingError,
    code="PAYMENT_PROOF_DOCUMENT_NOT_FOUND",
    status=404,
    message="storage_key does not name a document uploaded through /v1/documents",
):
    """The payment proof's ``storage_key`` names no document billing has seen uploaded for the tenant."""
