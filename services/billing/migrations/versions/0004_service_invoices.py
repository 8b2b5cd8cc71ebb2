"""Service invoices end to end (issue 15): the invoice columns the lifecycle needs, payments, adjustments
(credit notes), attachments (payment proofs), the audit trail and the header idempotency keys of
domain.md §7.6, with tenant RLS, audience policies and grants like 0001.

Money stays in integer minor units (paise) with CHECKs, so no application bug can store a negative
payment or credit; payments and audit rows are append-only for the login roles.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.db.migrations import run_sql
from shared.db.rls import DENY, audience_rls_sql, drop_audience_rls_sql, tenant_rls_sql

revision = "0004"
down_revision = "0003"

S = "billing"

NEW_TABLES = (
    "service_invoice_payments",
    "service_invoice_adjustments",
    "service_invoice_attachments",
    "service_invoice_audit_logs",
    "service_idempotency_keys",
    "known_documents",
)
#: the portal reads its tenant's invoices (domain.md §10.3): their payments, credits and attachments too;
#: it may attach payment proofs (§9.3: payment-proof needs read permission), which writes the attachment,
#: its audit row and its idempotency key
PORTAL = {
    "service_invoice_payments": ("true", DENY),
    "service_invoice_adjustments": ("true", DENY),
    "service_invoice_attachments": ("true", "kind = 'payment_proof'"),
    "service_invoice_audit_logs": (DENY, "event_type = 'attachment_added'"),
    "service_idempotency_keys": (
        "scope = 'invoice_payment_proof'",
        "scope = 'invoice_payment_proof'",
    ),
    "known_documents": ("true", DENY),
}


def upgrade() -> None:
    op.execute(
        f"""ALTER TABLE {S}.service_invoices
        ADD COLUMN channel_request_id UUID,
        ADD COLUMN sent_at TIMESTAMPTZ,
        ADD COLUMN bill_to_address TEXT,
        ADD COLUMN pdf_storage_key TEXT,
        ADD COLUMN created_by_user_id TEXT"""
    )
    # The list: newest first by (created_at, id) within a tenant, the keyset cursor's order.
    op.execute(
        f"CREATE INDEX service_invoices_list_idx ON {S}.service_invoices (tenant_id, created_at DESC, id DESC)"
    )
    op.execute(
        f"""CREATE TABLE {S}.service_invoice_payments (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        invoice_id UUID NOT NULL REFERENCES {S}.service_invoices (id),
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        paid_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        mode TEXT NOT NULL DEFAULT 'manual',
        reference TEXT,
        notes TEXT,
        idempotency_key TEXT,
        created_by_user_id TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX service_invoice_payments_invoice_idx ON {S}.service_invoice_payments (invoice_id)")
    op.execute(
        f"""CREATE TABLE {S}.service_invoice_adjustments (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        invoice_id UUID NOT NULL REFERENCES {S}.service_invoices (id),
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        adjustment_type TEXT NOT NULL DEFAULT 'credit',
        reason TEXT,
        issued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(
        f"CREATE INDEX service_invoice_adjustments_invoice_idx ON {S}.service_invoice_adjustments (invoice_id)"
    )
    op.execute(
        f"""CREATE TABLE {S}.service_invoice_attachments (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        invoice_id UUID NOT NULL REFERENCES {S}.service_invoices (id),
        kind TEXT NOT NULL CHECK (kind IN ('invoice_document', 'payment_proof', 'other')),
        original_name TEXT NOT NULL,
        storage_key TEXT NOT NULL,
        mime_type TEXT,
        size_bytes BIGINT NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
        created_by_user_id TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(
        f"CREATE INDEX service_invoice_attachments_invoice_idx ON {S}.service_invoice_attachments (invoice_id)"
    )
    op.execute(
        f"""CREATE TABLE {S}.service_invoice_audit_logs (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        invoice_id UUID NOT NULL REFERENCES {S}.service_invoices (id),
        event_type TEXT NOT NULL,
        actor_user_id TEXT,
        reason TEXT,
        diff_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(
        f"CREATE INDEX service_invoice_audit_logs_invoice_idx ON {S}.service_invoice_audit_logs (invoice_id, created_at)"
    )
    # Header Idempotency-Key of the invoice writes (§7.6): one row per (tenant, scope, key); the request
    # hash is §7.6's text (e.g. ``invoice_payment:<id>:<amount>:manual::``), the response its small body.
    op.execute(
        f"""CREATE TABLE {S}.service_idempotency_keys (
        tenant_id UUID NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        account_id UUID,
        invoice_id UUID,
        request_hash TEXT NOT NULL,
        response_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, scope, key)
    )"""
    )
    # Projection of evidence.documents.v1: documents uploaded through /v1/documents, so a payment proof
    # can only name a document that exists in the tenant (billing never reads evidence's tables).
    op.execute(
        f"""CREATE TABLE {S}.known_documents (
        document_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        storage_key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        original_filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        source_version BIGINT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX known_documents_key_idx ON {S}.known_documents (tenant_id, storage_key)")
    for table in NEW_TABLES:
        run_sql(tenant_rls_sql(S, table))
        read, write = PORTAL.get(table, (DENY, DENY))
        run_sql(audience_rls_sql(S, table, portal_read=read, portal_write=write))
    # grants on the new tables only: ``grants_sql`` would grant ALL TABLES again and undo 0001's
    # append-only revocations
    for table in NEW_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {S}.{table} TO {S}_app, {S}_system")
    # the money trail is append-only for the login roles
    for table, privileges in {
        "service_invoice_payments": "UPDATE, DELETE",
        "service_invoice_adjustments": "UPDATE, DELETE",
        "service_invoice_audit_logs": "UPDATE, DELETE",
        "service_idempotency_keys": "UPDATE, DELETE",
        "service_invoice_attachments": "DELETE",
    }.items():
        run_sql([f"REVOKE {privileges} ON {S}.{table} FROM {S}_app, {S}_system"])


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        run_sql(drop_audience_rls_sql(S, table))
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
    op.execute(f"DROP INDEX IF EXISTS {S}.service_invoices_list_idx")
    op.execute(
        f"""ALTER TABLE {S}.service_invoices
        DROP COLUMN IF EXISTS channel_request_id,
        DROP COLUMN IF EXISTS sent_at,
        DROP COLUMN IF EXISTS bill_to_address,
        DROP COLUMN IF EXISTS pdf_storage_key,
        DROP COLUMN IF EXISTS created_by_user_id"""
    )
