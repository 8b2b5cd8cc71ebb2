"""Plans, subscriptions and refills (issue 16, domain.md §7.7): the global plan catalog (by name, with
the plan's ``monthly_report_allowance`` of decision 32), subscriptions with their periods, and the
subscription events whose UNIQUE (provider, idempotency_key) is the refill/webhook de-dup.

Subscriptions and their events are tenant data (tenant RLS, no portal access); the catalog is global
and carries no tenant, so it has no RLS (staff and the system role read and upsert it).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shared.db.migrations import run_sql
from shared.db.rls import DENY, audience_rls_sql, drop_audience_rls_sql, tenant_rls_sql

revision = "0005"
down_revision = "0004"

S = "billing"

TENANT_TABLES = ("subscriptions", "subscription_events")
STATUSES = "'active', 'paused', 'past_due', 'suspended', 'cancelled'"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {S}.plan_catalog (
        id UUID PRIMARY KEY,
        name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
        price_monthly NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (price_monthly >= 0),
        cycle_days INTEGER NOT NULL DEFAULT 30 CHECK (cycle_days BETWEEN 0 AND 366),
        monthly_credit_allowance INTEGER CHECK (monthly_credit_allowance >= 0),
        monthly_report_allowance INTEGER CHECK (monthly_report_allowance >= 0),
        currency TEXT NOT NULL DEFAULT 'INR',
        is_active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.subscriptions (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        plan_id UUID NOT NULL REFERENCES {S}.plan_catalog (id),
        status TEXT NOT NULL CHECK (status IN ({STATUSES})),
        starts_at TIMESTAMPTZ NOT NULL,
        ends_at TIMESTAMPTZ,
        current_period_start TIMESTAMPTZ,
        current_period_end TIMESTAMPTZ,
        next_refill_at TIMESTAMPTZ,
        last_refilled_at TIMESTAMPTZ,
        grace_until TIMESTAMPTZ,
        last_payment_at TIMESTAMPTZ,
        external_provider TEXT,
        external_subscription_id TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX subscriptions_tenant_idx ON {S}.subscriptions (tenant_id, created_at DESC)")
    op.execute(f"CREATE INDEX subscriptions_account_idx ON {S}.subscriptions (account_id, status)")
    op.execute(f"CREATE INDEX subscriptions_due_idx ON {S}.subscriptions (status, updated_at)")
    op.execute(
        f"""CREATE TABLE {S}.subscription_events (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        subscription_id UUID REFERENCES {S}.subscriptions (id),
        provider TEXT NOT NULL CHECK (provider IN ('internal', 'stripe', 'razorpay')),
        event_type TEXT NOT NULL,
        signature_ok BOOLEAN,
        payload_hash TEXT,
        payload_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        idempotency_key TEXT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        processed_at TIMESTAMPTZ,
        UNIQUE (provider, idempotency_key)
    )"""
    )
    op.execute(
        f"CREATE INDEX subscription_events_sub_idx ON {S}.subscription_events (subscription_id, received_at)"
    )
    for table in TENANT_TABLES:
        run_sql(tenant_rls_sql(S, table))
        run_sql(audience_rls_sql(S, table, portal_read=DENY, portal_write=DENY))
    # grants on the new tables only (``grants_sql`` would undo 0001's append-only revocations)
    for table in ("plan_catalog", *TENANT_TABLES):
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {S}.{table} TO {S}_app, {S}_system")
    # the event trail (refill de-dup) is append-only for the login roles
    run_sql([f"REVOKE UPDATE ON {S}.subscription_events FROM {S}_app, {S}_system"])


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        run_sql(drop_audience_rls_sql(S, table))
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
    op.execute(f"DROP TABLE IF EXISTS {S}.plan_catalog")
