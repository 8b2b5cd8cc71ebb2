"""Payment rails and provider webhooks (issue 16 items 3-5, domain.md §7.8, §7.9): provider customers,
payment orders, the provider event trail (UNIQUE (provider, event_id): the webhook de-dup, written in the
transaction of the event's effect) and the links between service invoices and payment orders.

Money is integer minor units (paise/cents) with CHECKs, like the invoices of 0004. Tenant RLS and audience
policies like the other billing tables; the portal reads its tenant's orders and invoice links
(domain.md §10.3). A provider event that names no known order is stored without a tenant (decision 19's
rule for unmatched input): only the system role sees it.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from shared.db.migrations import run_sql
from shared.db.rls import DENY, audience_rls_sql, drop_audience_rls_sql, tenant_rls_sql

revision = "0006"
down_revision = "0005"

S = "billing"

TABLES = ("payment_customers", "payment_orders", "payment_events", "invoice_payment_links")
PORTAL = {"payment_orders": ("true", DENY), "invoice_payment_links": ("true", DENY)}
PROVIDERS = "'stripe', 'razorpay'"
ORDER_STATUSES = "'pending', 'requires_action', 'paid', 'failed', 'cancelled', 'expired'"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {S}.payment_customers (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        provider TEXT NOT NULL CHECK (provider IN ({PROVIDERS})),
        provider_customer_id TEXT NOT NULL CHECK (length(provider_customer_id) BETWEEN 1 AND 255),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (account_id, provider),
        UNIQUE (provider, provider_customer_id)
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.payment_orders (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        provider TEXT NOT NULL CHECK (provider IN ({PROVIDERS})),
        purpose TEXT NOT NULL CHECK (purpose IN ('topup', 'invoice')),
        status TEXT NOT NULL CHECK (status IN ({ORDER_STATUSES})),
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL CHECK (length(currency) BETWEEN 3 AND 8),
        credits_amount INTEGER CHECK (credits_amount >= 0),
        ref_type TEXT,
        ref_id TEXT,
        idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
        provider_customer_id TEXT,
        provider_order_id TEXT,
        provider_payment_id TEXT,
        checkout_url TEXT,
        service_invoice_id UUID REFERENCES {S}.service_invoices (id),
        settled_at TIMESTAMPTZ,
        last_error TEXT,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (provider, idempotency_key),
        CHECK ((status = 'paid') = (settled_at IS NOT NULL))
    )"""
    )
    op.execute(
        f"CREATE UNIQUE INDEX payment_orders_provider_order_idx ON {S}.payment_orders (provider, provider_order_id) "
        "WHERE provider_order_id IS NOT NULL"
    )
    op.execute(f"CREATE INDEX payment_orders_payment_idx ON {S}.payment_orders (provider, provider_payment_id)")
    op.execute(f"CREATE INDEX payment_orders_tenant_idx ON {S}.payment_orders (tenant_id, created_at DESC)")
    op.execute(f"CREATE INDEX payment_orders_account_idx ON {S}.payment_orders (account_id, created_at DESC)")
    # the janitor's scan: orders still open, oldest first
    op.execute(
        f"CREATE INDEX payment_orders_open_idx ON {S}.payment_orders (updated_at) "
        "WHERE status IN ('pending', 'requires_action')"
    )
    op.execute(
        f"""CREATE TABLE {S}.payment_events (
        id UUID PRIMARY KEY,
        tenant_id UUID,
        account_id UUID,
        payment_order_id UUID REFERENCES {S}.payment_orders (id),
        service_invoice_id UUID,
        provider TEXT NOT NULL CHECK (provider IN ({PROVIDERS})),
        event_id TEXT NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
        event_type TEXT NOT NULL,
        idempotency_key TEXT,
        signature_ok BOOLEAN NOT NULL,
        payload_hash TEXT NOT NULL,
        payload_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        payment_status TEXT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        processed_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (provider, event_id)
    )"""
    )
    op.execute(f"CREATE INDEX payment_events_order_idx ON {S}.payment_events (payment_order_id, received_at)")
    op.execute(f"CREATE INDEX payment_events_received_idx ON {S}.payment_events (received_at DESC)")
    op.execute(
        f"""CREATE TABLE {S}.invoice_payment_links (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        service_invoice_id UUID NOT NULL REFERENCES {S}.service_invoices (id),
        payment_order_id UUID NOT NULL REFERENCES {S}.payment_orders (id),
        status TEXT NOT NULL CHECK (status IN ({ORDER_STATUSES})),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (service_invoice_id, payment_order_id)
    )"""
    )
    for table in TABLES:
        run_sql(tenant_rls_sql(S, table))
        read, write = PORTAL.get(table, (DENY, DENY))
        run_sql(audience_rls_sql(S, table, portal_read=read, portal_write=write))
    # grants on the new tables only (``grants_sql`` would undo 0001's append-only revocations)
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {S}.{table} TO {S}_app, {S}_system")
    # the provider event trail is append-only: an event is written once, with the outcome of its effect
    run_sql([f"REVOKE UPDATE ON {S}.payment_events FROM {S}_app, {S}_system"])


def downgrade() -> None:
    for table in reversed(TABLES):
        run_sql(drop_audience_rls_sql(S, table))
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
