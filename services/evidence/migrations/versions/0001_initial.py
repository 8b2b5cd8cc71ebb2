"""Evidence: documents, evidence items, profiles, field defs, field-evidence links, OCR jobs, the
work-order projection (from ``workorders.work-order.v1``), messaging tables, RLS and grants.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.db.migrations import drop_schema_tables, finish_schema

revision = "0001"
down_revision = None

S = "evidence"

TENANT_TABLES = (
    "documents",
    "work_orders",
    "work_order_snapshots",
    "seeded_tenants",
    "field_defs",
    "evidence_profiles",
    "evidence_profile_items",
    "evidence_items",
    "field_evidence_links",
    "ocr_jobs",
)

TABLES = [
    # Uploaded files: metadata here, bytes in the content-addressed blob store (storage_key = sha256).
    f"""CREATE TABLE {S}.documents (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        original_filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        declared_content_type TEXT,
        size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
        sha256 TEXT NOT NULL,
        storage_key TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'uploaded',
        classification TEXT,
        sensitivity TEXT,
        source TEXT,
        captured_at TIMESTAMPTZ,
        captured_by_employee_id UUID,
        capture_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_by_user_id UUID,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        deleted_at TIMESTAMPTZ
    )""",
    f"CREATE INDEX documents_tenant_idx ON {S}.documents (tenant_id, created_at)",
    f"CREATE INDEX documents_sha_idx ON {S}.documents (sha256)",
    # Projection of workorders.work-order.v1 plus what evidence decides about the work order.
    f"""CREATE TABLE {S}.work_orders (
        work_order_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        report_type TEXT NOT NULL,
        bank_type TEXT NOT NULL DEFAULT 'OTHER',
        bank_name TEXT NOT NULL,
        value_slab TEXT NOT NULL DEFAULT 'UNKNOWN',
        template_selector TEXT NOT NULL DEFAULT 'UNKNOWN',
        status TEXT NOT NULL,
        latest_contract JSONB,
        latest_snapshot_id UUID,
        latest_snapshot_version INT,
        rule_warnings JSONB NOT NULL DEFAULT '[]'::jsonb,
        evidence_profile_id UUID,
        profile_chosen_by TEXT CHECK (profile_chosen_by IN ('auto', 'operator')),
        evidence_version BIGINT NOT NULL DEFAULT 0,
        source_version BIGINT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    f"CREATE INDEX work_orders_tenant_idx ON {S}.work_orders (tenant_id)",
    # Snapshots announced by contract_snapshotted: validates explicit snapshot ids of field links.
    f"""CREATE TABLE {S}.work_order_snapshots (
        snapshot_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders (work_order_id),
        version INT NOT NULL,
        UNIQUE (work_order_id, version)
    )""",
    # Marker: the seeds of domain.md §4.2 exist for this tenant (fast path of ensure_defaults).
    f"""CREATE TABLE {S}.seeded_tenants (
        tenant_id UUID PRIMARY KEY,
        seed_version INT NOT NULL,
        seeded_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    f"""CREATE TABLE {S}.field_defs (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        field_key TEXT NOT NULL,
        label TEXT NOT NULL,
        data_type TEXT NOT NULL,
        required_by_default BOOLEAN NOT NULL DEFAULT false,
        unit TEXT,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, field_key)
    )""",
    f"""CREATE TABLE {S}.evidence_profiles (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        report_type TEXT NOT NULL,
        bank_type TEXT NOT NULL,
        value_slab TEXT NOT NULL,
        name TEXT NOT NULL,
        is_default BOOLEAN NOT NULL DEFAULT false,
        metadata_json JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, report_type, bank_type, value_slab, name)
    )""",
    f"""CREATE TABLE {S}.evidence_profile_items (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        profile_id UUID NOT NULL REFERENCES {S}.evidence_profiles (id),
        evidence_type TEXT NOT NULL,
        doc_type TEXT,
        min_count INT NOT NULL DEFAULT 1,
        is_required BOOLEAN NOT NULL DEFAULT true,
        tags_json JSONB,
        order_hint INT,
        label TEXT,
        field_key_hint TEXT,
        seed_position INT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (profile_id, seed_position)
    )""",
    f"CREATE INDEX evidence_profile_items_profile_idx ON {S}.evidence_profile_items (profile_id)",
    # domain.md §1.2 repogen_evidence_items, tenancy column tenant_id.
    f"""CREATE TABLE {S}.evidence_items (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders (work_order_id),
        evidence_type TEXT NOT NULL,
        doc_type TEXT,
        classification TEXT,
        sensitivity TEXT,
        source TEXT,
        document_id UUID,
        file_ref TEXT,
        captured_by_employee_id UUID,
        captured_at TIMESTAMPTZ,
        annexure_order INT CHECK (annexure_order >= 0),
        tags JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    f"CREATE INDEX evidence_items_wo_idx ON {S}.evidence_items (work_order_id)",
    f"CREATE INDEX evidence_items_document_idx ON {S}.evidence_items (document_id)",
    # Decision 6: links belong to the work order and field and record the snapshot they were made on.
    f"""CREATE TABLE {S}.field_evidence_links (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders (work_order_id),
        field_key TEXT NOT NULL,
        evidence_item_id UUID NOT NULL REFERENCES {S}.evidence_items (id),
        snapshot_id UUID,
        snapshot_version INT,
        confidence DOUBLE PRECISION CHECK (confidence >= 0 AND confidence <= 1),
        note TEXT,
        created_by_user_id UUID,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (work_order_id, field_key, evidence_item_id)
    )""",
    f"""CREATE TABLE {S}.ocr_jobs (
        id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        work_order_id UUID NOT NULL REFERENCES {S}.work_orders (work_order_id),
        evidence_item_id UUID NOT NULL REFERENCES {S}.evidence_items (id),
        status TEXT NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'DONE', 'FAILED')),
        requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        finished_at TIMESTAMPTZ,
        result_json JSONB,
        error TEXT,
        created_by_user_id UUID,
        worker_trace TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    f"CREATE INDEX ocr_jobs_wo_idx ON {S}.ocr_jobs (work_order_id, created_at)",
]


def upgrade() -> None:
    for stmt in TABLES:
        op.execute(stmt)
    finish_schema(S, tenant_tables=TENANT_TABLES)  # the portal reads nothing here


def downgrade() -> None:
    drop_schema_tables(S, TENANT_TABLES)
