"""Evidence: work-order references (from workorders events), messaging tables, RLS.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.db.rls import grants_sql, tenant_rls_sql
from shared.messaging.schema import messaging_tables_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "evidence"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {S}.work_orders (
        work_order_id UUID PRIMARY KEY,
        tenant_id UUID NOT NULL,
        bank_type TEXT NOT NULL DEFAULT 'OTHER',
        report_type TEXT NOT NULL,
        bank_name TEXT NOT NULL,
        status TEXT NOT NULL,
        source_version BIGINT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""
    )
    for stmt in messaging_tables_sql(S):
        op.execute(stmt)
    for stmt in tenant_rls_sql(S, "work_orders"):
        op.execute(stmt)
    for stmt in grants_sql(S):
        op.execute(stmt)


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {S}.work_orders")
    for table in ("parked_messages", "consumer_versions", "inbox", "outbox"):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
