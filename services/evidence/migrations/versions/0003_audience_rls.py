"""Audience scoping in the database (domain.md §10.3, issue 12, decision "Hardening (issue 12): audience").

The portal audience reaches no evidence (documents, evidence items, profiles, field links, OCR jobs):
restrictive policies for ``evidence_app`` deny every row to it, on top of tenant isolation. Staff
audiences (web, studio, worker, service) keep every row of their tenant; a transaction that names no
audience sees nothing (fail closed).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.db.rls import audience_rls_sql, drop_audience_rls_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "evidence"
TABLES = (
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


def upgrade() -> None:
    for table in TABLES:
        for stmt in audience_rls_sql(S, table):
            op.execute(stmt)


def downgrade() -> None:
    for table in TABLES:
        for stmt in drop_audience_rls_sql(S, table):
            op.execute(stmt)
