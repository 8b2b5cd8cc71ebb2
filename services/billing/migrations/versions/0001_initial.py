"""Billing: accounts, policies, balances, holds, ledger, usage, draft invoices, work-order billing state,
gate decisions, messaging tables, RLS and grants.

The money invariants live here as well as in the domain code, so a bug in the application cannot
corrupt the books: ``wallet - reserved = available`` with all three ≥ 0 (CHECK), one active hold per
reference (partial UNIQUE), a hold resolves at most once (trigger + one consume/release ledger row per
hold), ledger idempotency keys unique per account (decision 17).

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.db.migrations import drop_schema_tables, finish_schema
from shared.db.rls import DENY

revision = "0001"
down_revision = None

S = "billing"

TENANT_TABLES = (
    "accounts",
    "policies",
    "balances",
    "holds",
    "ledger_entries",
    "ledger_idempotency",
    "usage_events",
    "service_invoices",
    "service_invoice_items",
    "invoice_sequences",
    "work_orders",
    "gate_decisions",
)


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {S}.accounts (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_type TEXT NOT NULL CHECK (account_type IN ('tenant', 'external_associate')),
        external_key TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        payment_terms_days INT NOT NULL DEFAULT 15 CHECK (payment_terms_days > 0),
        status_version BIGINT NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX accounts_tenant_idx ON {S}.accounts (tenant_id, created_at)")
    op.execute(
        f"""CREATE TABLE {S}.policies (
        account_id UUID PRIMARY KEY REFERENCES {S}.accounts (id),
        tenant_id UUID NOT NULL,
        billing_mode TEXT NOT NULL DEFAULT 'postpaid' CHECK (billing_mode IN ('postpaid', 'credit')),
        payment_terms_days INT NOT NULL DEFAULT 15 CHECK (payment_terms_days > 0),
        credit_cost_model TEXT NOT NULL DEFAULT 'flat' CHECK (credit_cost_model = 'flat'),
        currency TEXT NOT NULL DEFAULT 'INR',
        is_enabled BOOLEAN NOT NULL DEFAULT true,
        monthly_report_allowance INT CHECK (monthly_report_allowance >= 0),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    # The balance row is also the account's mutex: every credit, policy or status change locks it.
    op.execute(
        f"""CREATE TABLE {S}.balances (
        account_id UUID PRIMARY KEY REFERENCES {S}.accounts (id),
        tenant_id UUID NOT NULL,
        wallet BIGINT NOT NULL DEFAULT 0,
        reserved BIGINT NOT NULL DEFAULT 0,
        available BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT balances_non_negative CHECK (wallet >= 0 AND reserved >= 0 AND available >= 0),
        CONSTRAINT balances_available CHECK (wallet - reserved = available)
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.holds (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        ref_type TEXT NOT NULL,
        ref_id TEXT NOT NULL,
        amount BIGINT NOT NULL CHECK (amount > 0),
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'consumed', 'released', 'expired')),
        idempotency_key TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ,
        consumed_at TIMESTAMPTZ,
        released_at TIMESTAMPTZ,
        consumed_amount BIGINT,
        release_reason TEXT,
        UNIQUE (account_id, idempotency_key),
        CONSTRAINT holds_consumed_shape CHECK (
            (status = 'consumed') = (consumed_at IS NOT NULL)
            AND (status = 'consumed') = (consumed_amount IS NOT NULL)
            AND (consumed_amount IS NULL OR (consumed_amount > 0 AND consumed_amount <= amount))
        ),
        CONSTRAINT holds_released_shape CHECK ((status IN ('released', 'expired')) = (released_at IS NOT NULL))
    )"""
    )
    op.execute(
        f"CREATE UNIQUE INDEX holds_one_active_per_ref ON {S}.holds (account_id, ref_type, ref_id) "
        "WHERE status = 'active'"
    )
    op.execute(f"CREATE INDEX holds_ref_idx ON {S}.holds (ref_type, ref_id, created_at)")
    op.execute(f"CREATE INDEX holds_account_idx ON {S}.holds (account_id, created_at)")
    # A hold resolves at most once and its identity never changes.
    op.execute(
        f"""CREATE FUNCTION {S}.holds_resolve_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.account_id <> OLD.account_id OR NEW.ref_type <> OLD.ref_type OR NEW.ref_id <> OLD.ref_id
               OR NEW.amount <> OLD.amount OR NEW.idempotency_key <> OLD.idempotency_key
               OR NEW.tenant_id <> OLD.tenant_id THEN
                RAISE EXCEPTION 'hold % is immutable', OLD.id USING ERRCODE = 'check_violation';
            END IF;
            IF OLD.status <> 'active' AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
                RAISE EXCEPTION 'hold % already resolved (%)', OLD.id, OLD.status
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$"""
    )
    op.execute(
        f"CREATE TRIGGER holds_resolve_once BEFORE UPDATE ON {S}.holds "
        f"FOR EACH ROW EXECUTE FUNCTION {S}.holds_resolve_once()"
    )
    op.execute(
        f"""CREATE TABLE {S}.ledger_entries (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        hold_id UUID REFERENCES {S}.holds (id),
        delta BIGINT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('grant', 'topup', 'reserve', 'consume', 'release', 'adjustment')),
        ref_type TEXT,
        ref_id TEXT,
        idempotency_key TEXT NOT NULL,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (account_id, idempotency_key)
    )"""
    )
    op.execute(
        f"CREATE UNIQUE INDEX ledger_one_resolution_per_hold ON {S}.ledger_entries (hold_id) "
        "WHERE reason IN ('consume', 'release')"
    )
    op.execute(f"CREATE INDEX ledger_account_idx ON {S}.ledger_entries (account_id, created_at)")
    op.execute(
        f"""CREATE TABLE {S}.ledger_idempotency (
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        key TEXT NOT NULL,
        tenant_id UUID NOT NULL,
        operation TEXT NOT NULL CHECK (operation IN ('grant', 'reserve', 'consume', 'release')),
        fingerprint TEXT NOT NULL,
        hold_id UUID,
        entry_ids JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, key)
    )"""
    )
    # Decision 19: events for unknown accounts keep no tenant and no account, flagged unmatched.
    op.execute(
        f"""CREATE TABLE {S}.usage_events (
        id UUID PRIMARY KEY,
        tenant_id UUID,
        account_id UUID REFERENCES {S}.accounts (id),
        external_account_key TEXT,
        source_system TEXT NOT NULL CHECK (source_system IN ('v1', 'v2')),
        event_type TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        payload_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        unmatched BOOLEAN NOT NULL DEFAULT false,
        created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (source_system, idempotency_key),
        CONSTRAINT usage_unmatched_shape CHECK (unmatched = (account_id IS NULL))
    )"""
    )
    op.execute(f"CREATE INDEX usage_account_idx ON {S}.usage_events (account_id, created_at)")
    op.execute(
        f"""CREATE TABLE {S}.service_invoices (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES {S}.accounts (id),
        work_order_id UUID,
        assignment_id UUID,
        invoice_number TEXT,
        status TEXT NOT NULL DEFAULT 'draft'
            CHECK (status IN ('draft', 'issued', 'sent', 'partially_paid', 'paid', 'void')),
        currency TEXT NOT NULL DEFAULT 'INR',
        subtotal_minor BIGINT NOT NULL DEFAULT 0 CHECK (subtotal_minor >= 0),
        tax_minor BIGINT NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
        total_minor BIGINT NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
        amount_paid_minor BIGINT NOT NULL DEFAULT 0 CHECK (amount_paid_minor >= 0),
        amount_credited_minor BIGINT NOT NULL DEFAULT 0 CHECK (amount_credited_minor >= 0),
        amount_due_minor BIGINT NOT NULL DEFAULT 0 CHECK (amount_due_minor >= 0),
        is_paid BOOLEAN NOT NULL DEFAULT false,
        issued_date DATE,
        due_date DATE,
        paid_at TIMESTAMPTZ,
        voided_at TIMESTAMPTZ,
        void_reason TEXT,
        bill_to_name TEXT,
        notes TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, invoice_number),
        CONSTRAINT invoices_paid_shape CHECK (is_paid = (status = 'paid')),
        CONSTRAINT invoices_total CHECK (total_minor = subtotal_minor + tax_minor)
    )"""
    )
    # One live acceptance invoice per work order (a voided one may be followed by a new draft).
    op.execute(
        f"CREATE UNIQUE INDEX invoices_one_live_per_work_order ON {S}.service_invoices (work_order_id) "
        "WHERE work_order_id IS NOT NULL AND status <> 'void'"
    )
    op.execute(
        f"""CREATE TABLE {S}.service_invoice_items (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        invoice_id UUID NOT NULL REFERENCES {S}.service_invoices (id),
        description TEXT NOT NULL,
        quantity NUMERIC(12, 2) NOT NULL CHECK (quantity > 0),
        unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
        line_total_minor BIGINT NOT NULL CHECK (line_total_minor >= 0),
        tax_rate NUMERIC(8, 4),
        tax_code TEXT,
        service_code TEXT,
        order_index INT NOT NULL DEFAULT 0
    )"""
    )
    # Decision 12: numbers per (tenant, FY); used when invoices are issued (Billing 2).
    op.execute(
        f"""CREATE TABLE {S}.invoice_sequences (
        tenant_id UUID NOT NULL,
        financial_year TEXT NOT NULL,
        last_number INT NOT NULL DEFAULT 0 CHECK (last_number >= 0),
        PRIMARY KEY (tenant_id, financial_year)
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.work_orders (
        work_order_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        billing_external_key TEXT,
        report_type TEXT NOT NULL,
        bank_name TEXT NOT NULL,
        assignment_id UUID,
        status TEXT NOT NULL,
        source_version BIGINT NOT NULL,
        acceptance_status TEXT CHECK (acceptance_status IN ('PENDING', 'ACCEPTED', 'REJECTED')),
        acceptance_code TEXT,
        acceptance_message TEXT,
        acceptance_details JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        acceptance_request_message_id TEXT,
        acceptance_decided_at TIMESTAMPTZ,
        accepted_at TIMESTAMPTZ,
        mode TEXT CHECK (mode IN ('postpaid', 'credit')),
        account_id UUID REFERENCES {S}.accounts (id),
        external_key TEXT,
        hold_id UUID REFERENCES {S}.holds (id),
        invoice_id UUID REFERENCES {S}.service_invoices (id),
        planned_consumption_logged BOOLEAN NOT NULL DEFAULT false,
        has_successful_release BOOLEAN NOT NULL DEFAULT false,
        last_gate JSONB,
        billing_version BIGINT NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(
        f"CREATE INDEX work_orders_quota_idx ON {S}.work_orders (account_id, accepted_at) "
        "WHERE acceptance_status = 'ACCEPTED'"
    )
    op.execute(
        f"""CREATE TABLE {S}.gate_decisions (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL,
        release_id TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL,
        request_message_id TEXT,
        account_id UUID,
        mode TEXT NOT NULL,
        inputs JSONB NOT NULL,
        outcome JSONB NOT NULL,
        consume_error_code TEXT,
        result TEXT NOT NULL CHECK (result IN ('PAID', 'CREDIT_CONSUMED', 'OVERRIDE', 'BLOCKED', 'ERROR')),
        blocked_reason TEXT,
        error_code TEXT,
        ledger_entry_ids JSONB NOT NULL DEFAULT '[]'::jsonb,
        usage_event_id UUID,
        decision_hash TEXT NOT NULL,
        billing_version BIGINT NOT NULL,
        decided_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX gate_decisions_wo_idx ON {S}.gate_decisions (work_order_id, decided_at)")
    finish_schema(
        S,
        tenant_tables=TENANT_TABLES,
        # the portal reads its tenant's accounts, policies and service invoices (domain.md §10.3)
        portal={table: ("true", DENY) for table in ("accounts", "policies", "service_invoices", "service_invoice_items")},
        # the money trail is append-only for the login roles: no DELETE on books or holds
        append_only={
            "ledger_entries": "UPDATE, DELETE",
            "ledger_idempotency": "UPDATE, DELETE",
            "gate_decisions": "UPDATE, DELETE",
            "holds": "DELETE",
            "balances": "DELETE",
            "usage_events": "DELETE",
        },
    )


def downgrade() -> None:
    drop_schema_tables(S, TENANT_TABLES)
    op.execute(f"DROP FUNCTION IF EXISTS {S}.holds_resolve_once()")
