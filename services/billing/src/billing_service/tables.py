"""SQLAlchemy Core tables of the ``billing`` schema, matching ``migrations/versions/0001_initial.py``.

The migration owns the DDL (checks, partial indexes, the resolve-once trigger, RLS); these tables only
describe columns so the repositories can build their SQL. Uuids are read as strings (the domain's ids).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from billing_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)

_UUID = UUID(as_uuid=False)
_TS = DateTime(timezone=True)


def _id(name: str = "id", *, primary_key: bool = False, nullable: bool = True) -> Column[str]:
    return Column(name, _UUID, primary_key=primary_key, nullable=nullable and not primary_key)


accounts = Table(
    "accounts",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    Column("account_type", Text, nullable=False),
    Column("external_key", Text, nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("status_version", BigInteger, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    _id("account_id", primary_key=True),
    _id("tenant_id", nullable=False),
    Column("billing_mode", Text, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("credit_cost_model", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("is_enabled", Boolean, nullable=False),
    Column("monthly_report_allowance", Integer),
    Column("updated_at", _TS, nullable=False),
)

#: also the account's mutex: every credit, policy or status change locks its row
balances = Table(
    "balances",
    metadata,
    _id("account_id", primary_key=True),
    _id("tenant_id", nullable=False),
    Column("wallet", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("available", BigInteger, nullable=False),
    Column("updated_at", _TS, nullable=False),
)

holds = Table(
    "holds",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("account_id", nullable=False),
    Column("ref_type", Text, nullable=False),
    Column("ref_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("expires_at", _TS),
    Column("consumed_at", _TS),
    Column("released_at", _TS),
    Column("consumed_amount", BigInteger),
    Column("release_reason", Text),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("account_id", nullable=False),
    _id("hold_id"),
    Column("delta", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ref_type", Text),
    Column("ref_id", Text),
    Column("idempotency_key", Text, nullable=False),
    Column("metadata_json", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
)

ledger_idempotency = Table(
    "ledger_idempotency",
    metadata,
    _id("account_id", primary_key=True),
    Column("key", Text, primary_key=True),
    _id("tenant_id", nullable=False),
    Column("operation", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    _id("hold_id"),
    Column("entry_ids", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
)

usage_events = Table(
    "usage_events",
    metadata,
    _id(primary_key=True),
    _id("tenant_id"),
    _id("account_id"),
    Column("external_account_key", Text),
    Column("source_system", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("payload_json", JSONB, nullable=False),
    Column("unmatched", Boolean, nullable=False),
    Column("created_at", _TS, nullable=False),
)

service_invoices = Table(
    "service_invoices",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("account_id", nullable=False),
    _id("work_order_id"),
    _id("assignment_id"),
    Column("invoice_number", Text),
    Column("status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("amount_paid_minor", BigInteger, nullable=False),
    Column("amount_credited_minor", BigInteger, nullable=False),
    Column("amount_due_minor", BigInteger, nullable=False),
    Column("is_paid", Boolean, nullable=False),
    Column("issued_date", Date),
    Column("due_date", Date),
    Column("paid_at", _TS),
    Column("voided_at", _TS),
    Column("void_reason", Text),
    Column("bill_to_name", Text),
    Column("notes", Text),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    # 0004_service_invoices
    _id("channel_request_id"),
    Column("sent_at", _TS),
    Column("bill_to_address", Text),
    Column("pdf_storage_key", Text),
    Column("created_by_user_id", Text),
)

service_invoice_items = Table(
    "service_invoice_items",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("invoice_id", nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Numeric(12, 2), nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("line_total_minor", BigInteger, nullable=False),
    Column("tax_rate", Numeric(8, 4)),
    Column("tax_code", Text),
    Column("service_code", Text),
    Column("order_index", Integer, nullable=False),
)

service_invoice_payments = Table(
    "service_invoice_payments",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("invoice_id", nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("paid_at", _TS, nullable=False),
    Column("mode", Text, nullable=False),
    Column("reference", Text),
    Column("notes", Text),
    Column("idempotency_key", Text),
    Column("created_by_user_id", Text),
    Column("created_at", _TS, nullable=False),
)

service_invoice_adjustments = Table(
    "service_invoice_adjustments",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("invoice_id", nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("adjustment_type", Text, nullable=False),
    Column("reason", Text),
    Column("issued_at", _TS, nullable=False),
    Column("created_at", _TS, nullable=False),
)

service_invoice_attachments = Table(
    "service_invoice_attachments",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("invoice_id", nullable=False),
    Column("kind", Text, nullable=False),
    Column("original_name", Text, nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("mime_type", Text),
    Column("size_bytes", BigInteger, nullable=False),
    Column("created_by_user_id", Text),
    Column("created_at", _TS, nullable=False),
)

service_invoice_audit_logs = Table(
    "service_invoice_audit_logs",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("invoice_id", nullable=False),
    Column("event_type", Text, nullable=False),
    Column("actor_user_id", Text),
    Column("reason", Text),
    Column("diff_json", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
)

service_idempotency_keys = Table(
    "service_idempotency_keys",
    metadata,
    _id("tenant_id", primary_key=True),
    Column("scope", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    _id("account_id"),
    _id("invoice_id"),
    Column("request_hash", Text, nullable=False),
    Column("response_json", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
)

# Projection of evidence.documents.v1 (0004_service_invoices): what a payment proof may name.
known_documents = Table(
    "known_documents",
    metadata,
    _id("document_id", primary_key=True),
    _id("tenant_id", nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("original_filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("source_version", BigInteger, nullable=False),
    Column("created_at", _TS, nullable=False),
)

# Per-tenant, per-financial-year invoice numbering (domain.md §7.6); the invoice flow of issue 15 uses it.
invoice_sequences = Table(
    "invoice_sequences",
    metadata,
    _id("tenant_id", primary_key=True),
    Column("financial_year", Text, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

work_orders = Table(
    "work_orders",
    metadata,
    _id("work_order_id", primary_key=True),
    _id("tenant_id", nullable=False),
    Column("billing_external_key", Text),
    Column("report_type", Text, nullable=False),
    Column("bank_name", Text, nullable=False),
    _id("assignment_id"),
    Column("status", Text, nullable=False),
    Column("source_version", BigInteger, nullable=False),
    Column("acceptance_status", Text),
    Column("acceptance_code", Text),
    Column("acceptance_message", Text),
    Column("acceptance_details", JSONB, nullable=False),
    Column("acceptance_request_message_id", Text),
    Column("acceptance_decided_at", _TS),
    Column("accepted_at", _TS),
    Column("mode", Text),
    _id("account_id"),
    Column("external_key", Text),
    _id("hold_id"),
    _id("invoice_id"),
    Column("planned_consumption_logged", Boolean, nullable=False),
    Column("has_successful_release", Boolean, nullable=False),
    Column("last_gate", JSONB),
    Column("billing_version", BigInteger, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
)

gate_decisions = Table(
    "gate_decisions",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("work_order_id", nullable=False),
    Column("release_id", Text, nullable=False, unique=True),
    Column("idempotency_key", Text, nullable=False),
    Column("request_message_id", Text),
    _id("account_id"),
    Column("mode", Text, nullable=False),
    Column("inputs", JSONB, nullable=False),
    Column("outcome", JSONB, nullable=False),
    Column("consume_error_code", Text),
    Column("result", Text, nullable=False),
    Column("blocked_reason", Text),
    Column("error_code", Text),
    Column("ledger_entry_ids", JSONB, nullable=False),
    _id("usage_event_id"),
    Column("decision_hash", Text, nullable=False),
    Column("billing_version", BigInteger, nullable=False),
    Column("decided_at", _TS, nullable=False),
)

#: the global plan catalog (by name; no tenant, no RLS), domain.md §7.7 and decision 32
plan_catalog = Table(
    "plan_catalog",
    metadata,
    _id(primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("price_monthly", Numeric(14, 2), nullable=False),
    Column("cycle_days", Integer, nullable=False),
    Column("monthly_credit_allowance", Integer),
    Column("monthly_report_allowance", Integer),
    Column("currency", Text, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("account_id", nullable=False),
    _id("plan_id", nullable=False),
    Column("status", Text, nullable=False),
    Column("starts_at", _TS, nullable=False),
    Column("ends_at", _TS),
    Column("current_period_start", _TS),
    Column("current_period_end", _TS),
    Column("next_refill_at", _TS),
    Column("last_refilled_at", _TS),
    Column("grace_until", _TS),
    Column("last_payment_at", _TS),
    Column("external_provider", Text),
    Column("external_subscription_id", Text),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
)

#: UNIQUE (provider, idempotency_key): the refill and webhook de-dup
subscription_events = Table(
    "subscription_events",
    metadata,
    _id(primary_key=True),
    _id("tenant_id", nullable=False),
    _id("subscription_id"),
    Column("provider", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("signature_ok", Boolean),
    Column("payload_hash", Text),
    Column("payload_json", JSONB, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("received_at", _TS, nullable=False),
    Column("processed_at", _TS),
)

#: one row per scheduled pass of the stream process (migration 0006): not tenant data, system role only
scheduler_runs = Table(
    "scheduler_runs",
    metadata,
    _id(primary_key=True),
    Column("job", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("replica", Text, nullable=False),
    Column("started_at", _TS, nullable=False),
    Column("finished_at", _TS, nullable=False),
    Column("counts", JSONB, nullable=False),
    Column("error", Text),
)
