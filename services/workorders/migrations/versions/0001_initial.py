"""Work-order spine: work orders, snapshots, rules runs, comments, projections, messaging tables, RLS.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.db.migrations import create_projection_table, drop_schema_tables, finish_schema
from shared.db.rls import DENY, PORTAL_WORK_ORDER_EXPR, portal_owns_work_order_expr

revision = "0001"
down_revision = None

S = "workorders"
TENANT_TABLES = (
    "work_orders",
    "contract_snapshots",
    "rules_runs",
    "comments",
    "evidence_projection",
    "billing_projection",
    "pack_projection",
)


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {S}.work_orders (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        source_type TEXT NOT NULL CHECK (source_type IN ('TENANT','EXTERNAL','CHANNEL')),
        source_ref_id UUID,
        assignment_id UUID,
        report_type TEXT NOT NULL CHECK (report_type IN ('VALUATION','DPR','REVALUATION','STAGE_PROGRESS')),
        bank_name TEXT NOT NULL CHECK (length(btrim(bank_name)) > 0),
        bank_type TEXT NOT NULL DEFAULT 'OTHER' CHECK (bank_type IN ('SBI','PSU_GENERIC','COOP','AGRI','OTHER')),
        value_slab TEXT NOT NULL DEFAULT 'UNKNOWN' CHECK (value_slab IN ('LT_5CR','GT_5CR','UNKNOWN')),
        template_selector TEXT NOT NULL DEFAULT 'UNKNOWN' CHECK (template_selector IN
            ('SBI_FORMAT_A','BOI_PSU_GENERIC','COOP_GENERIC','AGRI_GENERIC','UNKNOWN')),
        status TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN
            ('DRAFT','EVIDENCE_PENDING','DATA_PENDING','READY_FOR_RENDER','CANCELLED','CLOSED')),
        billing_external_key TEXT,
        report_pack_id UUID,
        evidence_profile_id UUID,
        -- decision 5: the current readiness, refreshed on every contract/evidence/link/profile change
        current_readiness JSONB,
        readiness_evidence_version BIGINT NOT NULL DEFAULT 0,
        -- acceptance saga (architecture §4): state, the status_changed message it answers, where to revert
        acceptance_status TEXT CHECK (acceptance_status IN ('PENDING','ACCEPTED','REJECTED')),
        acceptance_code TEXT,
        acceptance_message TEXT,
        acceptance_details JSONB,
        acceptance_request_id UUID,
        acceptance_previous_status TEXT,
        -- render saga: generation (decision 29), frozen bundle, pack projection version seen at the request
        render_generation INT NOT NULL DEFAULT 1,
        export_bundle JSONB,
        export_bundle_hash TEXT,
        ready_snapshot_version INT,
        pack_baseline_version BIGINT,
        version BIGINT NOT NULL DEFAULT 1,
        created_by_user_id UUID,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX work_orders_tenant_created_idx ON {S}.work_orders (tenant_id, created_at DESC)")
    op.execute(f"CREATE INDEX work_orders_status_idx ON {S}.work_orders (tenant_id, status)")
    op.execute(
        f"CREATE INDEX work_orders_lookup_idx ON {S}.work_orders "
        "(tenant_id, report_type, bank_type, template_selector)"
    )
    op.execute(
        f"""CREATE TABLE {S}.contract_snapshots (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders(id),
        version INT NOT NULL CHECK (version > 0),
        contract_json JSONB NOT NULL,
        derived_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        readiness_json JSONB NOT NULL,
        created_by_user_id UUID,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (work_order_id, version)
    )"""
    )
    op.execute(
        f"""CREATE TABLE {S}.rules_runs (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders(id),
        input_snapshot_id UUID NOT NULL REFERENCES {S}.contract_snapshots(id),
        output_snapshot_id UUID NOT NULL REFERENCES {S}.contract_snapshots(id),
        ruleset_version TEXT NOT NULL,
        warnings JSONB NOT NULL DEFAULT '[]'::jsonb,
        errors JSONB NOT NULL DEFAULT '[]'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    op.execute(f"CREATE INDEX rules_runs_wo_idx ON {S}.rules_runs (work_order_id, created_at DESC)")
    op.execute(
        f"""CREATE TABLE {S}.comments (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders(id),
        comment_type TEXT NOT NULL CHECK (comment_type IN ('JUSTIFICATION','ENCLOSURES','CHECKLIST','NOTES')),
        body TEXT NOT NULL CHECK (length(btrim(body)) > 0),
        -- stable id of a system note published by another service: inserted once
        note_id TEXT,
        created_by_user_id UUID,
        created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (work_order_id, note_id)
    )"""
    )
    op.execute(f"CREATE INDEX comments_wo_idx ON {S}.comments (work_order_id, created_at DESC)")
    # Projections of other services' state (architecture §2): each row states the source version it reflects.
    create_projection_table(
        S,
        "evidence_projection",
        """
        evidence_version BIGINT NOT NULL,
        items JSONB NOT NULL DEFAULT '[]'::jsonb,
        profile JSONB,
        profile_requirements JSONB NOT NULL DEFAULT '[]'::jsonb,
        linked_field_keys JSONB NOT NULL DEFAULT '[]'::jsonb,
        field_evidence_links JSONB NOT NULL DEFAULT '[]'::jsonb,
        ocr_jobs JSONB NOT NULL DEFAULT '[]'::jsonb,
        checklist JSONB NOT NULL DEFAULT '[]'::jsonb
        """,
    )
    create_projection_table(S, "billing_projection", "payload JSONB NOT NULL")
    create_projection_table(
        S,
        "pack_projection",
        """
        pack_id UUID,
        pack_version INT,
        template_key TEXT,
        report_family TEXT,
        status TEXT,
        job_id UUID,
        job_status TEXT,
        attempts INT NOT NULL DEFAULT 0,
        artifacts JSONB NOT NULL DEFAULT '[]'::jsonb,
        export_bundle_hash TEXT,
        snapshot_version INT,
        failure_code TEXT,
        failure_reason TEXT,
        releases JSONB NOT NULL DEFAULT '[]'::jsonb,
        -- source versions of the last pack_created / pack_failed (to tell this render's pack from an older one)
        created_source_version BIGINT,
        failed_source_version BIGINT
        """,
    )
    op.execute(
        f"CREATE INDEX work_orders_portal_idx ON {S}.work_orders "
        "(tenant_id, created_by_user_id) WHERE source_type = 'CHANNEL'"
    )
    finish_schema(
        S,
        tenant_tables=TENANT_TABLES,
        portal={
            "work_orders": (PORTAL_WORK_ORDER_EXPR, PORTAL_WORK_ORDER_EXPR),
            "comments": (_owned("comments"), _owned("comments")),
            "contract_snapshots": (_owned("contract_snapshots"), DENY),
            "rules_runs": (_owned("rules_runs"), DENY),
            "evidence_projection": (_owned("evidence_projection"), DENY),
            "billing_projection": (_owned("billing_projection"), DENY),
            "pack_projection": (_owned("pack_projection"), DENY),
        },
    )


def _owned(table: str) -> str:
    return portal_owns_work_order_expr(f"{S}.work_orders", table)


def downgrade() -> None:
    drop_schema_tables(S, TENANT_TABLES)
