"""Audience scoping in the database (domain.md §10.3, issue 12, decision "Hardening (issue 12): audience").

Restrictive policies for ``billing_app`` on top of tenant isolation: staff audiences (web, studio, worker,
service) keep every row of their tenant; the portal audience may only read its tenant's accounts,
policies and service invoices (+ items), as domain.md §10.3 lists, and writes nothing here; a
transaction that names no audience sees nothing (fail closed). Service-token and control-plane routes
use the system role and are not affected.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.db.rls import audience_rls_sql, drop_audience_rls_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "billing"
PORTAL_READABLE = ("accounts", "policies", "service_invoices", "service_invoice_items")
DENIED = (
    "balances",
    "holds",
    "ledger_entries",
    "ledger_idempotency",
    "usage_events",
    "invoice_sequences",
    "work_orders",
    "gate_decisions",
)


def upgrade() -> None:
    for table in PORTAL_READABLE:
        for stmt in audience_rls_sql(S, table, portal_read="true"):
            op.execute(stmt)
    for table in DENIED:
        for stmt in audience_rls_sql(S, table):
            op.execute(stmt)


def downgrade() -> None:
    for table in (*PORTAL_READABLE, *DENIED):
        for stmt in drop_audience_rls_sql(S, table):
            op.execute(stmt)
