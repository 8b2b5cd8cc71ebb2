"""Audience scoping in the database (domain.md §10.3, architecture §6, issue 12, decision
"Hardening (issue 12): audience").

The work-order projection learns ``source_type`` and ``created_by_user_id`` (from ``created``; null for
rows projected before this revision, which the portal therefore never reaches). Restrictive policies for
``factory_app`` on top of tenant isolation: staff audiences keep every row of their tenant; the portal
audience reads only what a deliverable download of its own CHANNEL work orders needs (the work order,
its packs, artifacts and releases, its audit trail) and writes only the download audit rows; a
transaction that names no audience sees nothing (fail closed).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.db.rls import (
    DENY,
    PORTAL_WORK_ORDER_EXPR,
    audience_rls_sql,
    drop_audience_rls_sql,
    portal_owns_work_order_expr,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "factory"


def _owned(table: str) -> str:
    return portal_owns_work_order_expr(f"{S}.work_orders", table, id_column="work_order_id")


_PACK_OWNED = f"EXISTS (SELECT 1 FROM {S}.report_packs p WHERE p.id = report_pack_artifacts.report_pack_id)"

#: table → (portal_read, portal_write); anything not named is denied to the portal.
POLICIES: dict[str, tuple[str, str]] = {
    "work_orders": (PORTAL_WORK_ORDER_EXPR, DENY),
    "report_packs": (_owned("report_packs"), DENY),
    "report_pack_artifacts": (_PACK_OWNED, DENY),
    "deliverable_releases": (_owned("deliverable_releases"), DENY),
    "report_audit_logs": (_owned("report_audit_logs"), _owned("report_audit_logs")),
    "work_order_billing": (DENY, DENY),
    "pack_state_versions": (DENY, DENY),
    "report_generation_jobs": (DENY, DENY),
}


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.work_orders ADD COLUMN IF NOT EXISTS source_type TEXT")
    op.execute(f"ALTER TABLE {S}.work_orders ADD COLUMN IF NOT EXISTS created_by_user_id UUID")
    for table, (read, write) in POLICIES.items():
        for stmt in audience_rls_sql(S, table, portal_read=read, portal_write=write):
            op.execute(stmt)


def downgrade() -> None:
    for table in POLICIES:
        for stmt in drop_audience_rls_sql(S, table):
            op.execute(stmt)
    op.execute(f"ALTER TABLE {S}.work_orders DROP COLUMN IF EXISTS created_by_user_id")
    op.execute(f"ALTER TABLE {S}.work_orders DROP COLUMN IF EXISTS source_type")
