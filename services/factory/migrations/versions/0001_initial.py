"""Factory: report packs, artifacts, generation jobs, deliverable releases, audit log, projections.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.db.migrations import create_projection_table, drop_schema_tables, finish_schema
from shared.db.rls import DENY, PORTAL_WORK_ORDER_EXPR, portal_owns_work_order_expr

revision = "0001"
down_revision = None

S = "factory"

TENANT_TABLES = (
    "work_orders",
    "work_order_billing",
    "pack_state_versions",
    "report_packs",
    "report_pack_artifacts",
    "report_generation_jobs",
    "deliverable_releases",
    "report_audit_logs",
)


def upgrade() -> None:
    # Projection of workorders.work-order.v1: what the bridge and the pack view need.
    op.execute(
        f"""CREATE TABLE {S}.work_orders (
        work_order_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        assignment_id UUID,
        report_type TEXT NOT NULL DEFAULT 'VALUATION',
        bank_type TEXT NOT NULL DEFAULT 'OTHER',
        bank_name TEXT NOT NULL DEFAULT '',
        value_slab TEXT NOT NULL DEFAULT 'UNKNOWN',
        template_selector TEXT NOT NULL DEFAULT 'UNKNOWN',
        status TEXT NOT NULL DEFAULT 'DRAFT',
        render_generation INT NOT NULL DEFAULT 0,
        snapshot_version INT,
        readiness_score INT,
        export_bundle JSONB,
        export_bundle_hash TEXT,
        source_version BIGINT NOT NULL,
        -- from ``created`` (audience scoping: the portal reaches only its own CHANNEL work orders)
        source_type TEXT,
        created_by_user_id UUID,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    # Projection of billing.work-order-billing.v1 (compacted): the WorkOrderBilling payload as sent.
    create_projection_table(S, "work_order_billing", "state JSONB NOT NULL")
    # The aggregate version of everything factory publishes keyed by work order (pack + release topics).
    op.execute(
        f"""CREATE TABLE {S}.pack_state_versions (
        work_order_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        version BIGINT NOT NULL
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.report_packs (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL,
        assignment_id UUID,
        template_key TEXT NOT NULL,
        report_family TEXT NOT NULL,
        version INT NOT NULL CHECK (version >= 1),
        render_generation INT NOT NULL,
        snapshot_version INT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('generating', 'generated', 'failed', 'superseded')),
        warnings JSONB NOT NULL DEFAULT '[]'::jsonb,
        context_snapshot JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        export_bundle BYTEA NOT NULL,
        export_bundle_hash TEXT NOT NULL,
        failure_code TEXT,
        failure_reason TEXT,
        created_by_user_id UUID,
        generated_at TIMESTAMPTZ,
        superseded_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (work_order_id, template_key, version)
    )"""
    )
    # One live pack per work order; a reopen (decision 29) or a manual retry of a failed pack
    # supersedes it.
    op.execute(
        f"CREATE UNIQUE INDEX report_packs_one_live_idx ON {S}.report_packs (work_order_id) "
        "WHERE status <> 'superseded'"
    )
    op.execute(
        f"""CREATE TABLE {S}.report_pack_artifacts (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        report_pack_id UUID NOT NULL REFERENCES {S}.report_packs (id),
        kind TEXT NOT NULL CHECK (kind IN ('docx', 'debug_json', 'evidence_pack')),
        filename TEXT NOT NULL,
        storage_ref TEXT NOT NULL,
        blob_key TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
        checksum_sha256 TEXT NOT NULL,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (report_pack_id, kind)
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.report_generation_jobs (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        report_pack_id UUID NOT NULL UNIQUE REFERENCES {S}.report_packs (id),
        work_order_id UUID NOT NULL,
        assignment_id UUID,
        template_key TEXT NOT NULL,
        report_family TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('pending', 'queued', 'processing', 'completed', 'failed', 'cancelled')),
        attempts INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        max_attempts INT NOT NULL CHECK (max_attempts >= 1),
        error_code TEXT,
        error_message TEXT,
        worker_trace TEXT,
        request_payload JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        warnings JSONB NOT NULL DEFAULT '[]'::jsonb,
        requested_by_user_id UUID,
        queued_at TIMESTAMPTZ,
        started_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, idempotency_key)
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.deliverable_releases (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL,
        report_pack_id UUID NOT NULL REFERENCES {S}.report_packs (id),
        released_by_user_id UUID,
        idempotency_key TEXT NOT NULL,
        override_requested BOOLEAN NOT NULL DEFAULT false,
        override_reason TEXT,
        billing_mode_at_release TEXT CHECK (billing_mode_at_release IN ('CREDIT', 'POSTPAID')),
        billing_gate_result TEXT NOT NULL CHECK (billing_gate_result IN
            ('PENDING', 'PAID', 'CREDIT_CONSUMED', 'OVERRIDE', 'BLOCKED', 'ERROR')),
        error_code TEXT,
        prior_release_id UUID REFERENCES {S}.deliverable_releases (id),
        decision_id TEXT,
        decision_hash TEXT,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        released_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        -- Decision 8: one key per tenant; the handler answers 409 when it names another work order.
        UNIQUE (tenant_id, idempotency_key)
    )"""
    )
    op.execute(
        f"CREATE INDEX deliverable_releases_wo_idx ON {S}.deliverable_releases (work_order_id, created_at)"
    )
    op.execute(
        f"""CREATE TABLE {S}.report_audit_logs (
        id BIGSERIAL PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL,
        report_pack_id UUID,
        entity_type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        action TEXT NOT NULL,
        actor_user_id UUID,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX report_audit_logs_wo_idx ON {S}.report_audit_logs (work_order_id, id)")
    finish_schema(
        S,
        tenant_tables=TENANT_TABLES,
        portal={
            "work_orders": (PORTAL_WORK_ORDER_EXPR, DENY),
            "report_packs": (_owned("report_packs"), DENY),
            "report_pack_artifacts": (_PACK_OWNED, DENY),
            "deliverable_releases": (_owned("deliverable_releases"), DENY),
            "report_audit_logs": (_owned("report_audit_logs"), _owned("report_audit_logs")),
        },
        append_only={"report_audit_logs": "UPDATE, DELETE"},  # the audit log, for both login roles
    )


def _owned(table: str) -> str:
    return portal_owns_work_order_expr(f"{S}.work_orders", table, id_column="work_order_id")


_PACK_OWNED = f"EXISTS (SELECT 1 FROM {S}.report_packs p WHERE p.id = report_pack_artifacts.report_pack_id)"


def downgrade() -> None:
    drop_schema_tables(S, TENANT_TABLES)
