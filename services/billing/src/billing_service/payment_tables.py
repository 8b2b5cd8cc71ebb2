"""SQLAlchemy Core tables of the payment rails (migration 0006, domain.md §7.8): columns only, the
migration owns the DDL (checks, unique keys, RLS). Same ``MetaData`` as :mod:`billing_service.tables`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from billing_service.tables import metadata

_UUID = UUID(as_uuid=False)
_TS = DateTime(timezone=True)

payment_customers = Table(
    "payment_customers",
    metadata,
    Column("id", _UUID, primary_key=True),
    Column("tenant_id", _UUID, nullable=False),
    Column("account_id", _UUID, nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_customer_id", Text, nullable=False),
    Column("created_at", _TS, nullable=False),
)

payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", _UUID, primary_key=True),
    Column("tenant_id", _UUID, nullable=False),
    Column("account_id", _UUID, nullable=False),
    Column("provider", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("credits_amount", Integer),
    Column("ref_type", Text),
    Column("ref_id", Text),
    Column("idempotency_key", Text, nullable=False),
    Column("provider_customer_id", Text),
    Column("provider_order_id", Text),
    Column("provider_payment_id", Text),
    Column("checkout_url", Text),
    Column("service_invoice_id", _UUID),
    Column("settled_at", _TS),
    Column("last_error", Text),
    Column("metadata_json", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
)

#: UNIQUE (provider, event_id): the webhook de-dup, inserted in the transaction of the event's effect
payment_events = Table(
    "payment_events",
    metadata,
    Column("id", _UUID, primary_key=True),
    Column("tenant_id", _UUID),
    Column("account_id", _UUID),
    Column("payment_order_id", _UUID),
    Column("service_invoice_id", _UUID),
    Column("provider", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("signature_ok", Boolean, nullable=False),
    Column("payload_hash", Text, nullable=False),
    Column("payload_json", JSONB, nullable=False),
    Column("payment_status", Text, nullable=False),
    Column("received_at", _TS, nullable=False),
    Column("processed_at", _TS),
    Column("created_at", _TS, nullable=False),
)

invoice_payment_links = Table(
    "invoice_payment_links",
    metadata,
    Column("id", _UUID, primary_key=True),
    Column("tenant_id", _UUID, nullable=False),
    Column("service_invoice_id", _UUID, nullable=False),
    Column("payment_order_id", _UUID, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
)
