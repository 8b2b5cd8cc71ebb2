"""Audience scoping in the database (domain.md §10.3, issue 12, decision "Hardening (issue 12): audience").

Restrictive policies for ``workorders_app`` on top of tenant isolation: staff audiences (web, studio,
worker, service) keep every row of their tenant; the portal audience reaches only CHANNEL work orders
its own user created (``created_by_user_id = app.user_id``): it reads and inserts such work orders,
reads their snapshots, rules runs and projections, reads and adds their comments, and nothing else.
A transaction that names no audience sees nothing (fail closed). ``work_orders.created_by_user_id``
already exists (0001, nullable for old rows); this adds an index for the portal's lookups.

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

S = "workorders"


def _owned(table: str) -> str:
    return portal_owns_work_order_expr(f"{S}.work_orders", table)


#: table → (portal_read, portal_write); anything not named is denied to the portal.
POLICIES: dict[str, tuple[str, str]] = {
    "work_orders": (PORTAL_WORK_ORDER_EXPR, PORTAL_WORK_ORDER_EXPR),
    "comments": (_owned("comments"), _owned("comments")),
    "contract_snapshots": (_owned("contract_snapshots"), DENY),
    "rules_runs": (_owned("rules_runs"), DENY),
    "evidence_projection": (_owned("evidence_projection"), DENY),
    "billing_projection": (_owned("billing_projection"), DENY),
    "pack_projection": (_owned("pack_projection"), DENY),
}


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX IF NOT EXISTS work_orders_portal_idx ON {S}.work_orders "
        "(tenant_id, created_by_user_id) WHERE source_type = 'CHANNEL'"
    )
    for table, (read, write) in POLICIES.items():
        for stmt in audience_rls_sql(S, table, portal_read=read, portal_write=write):
            op.execute(stmt)


def downgrade() -> None:
    for table in POLICIES:
        for stmt in drop_audience_rls_sql(S, table):
            op.execute(stmt)
    op.execute(f"DROP INDEX IF EXISTS {S}.work_orders_portal_idx")
