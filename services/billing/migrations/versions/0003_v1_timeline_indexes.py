"""Billing: indexes for the credit timeline's keyset pages (domain.md §7.5).

Each source of the timeline is read newest first after a cursor, for one account or one tenant: ledger
entries and usage events by ``created_at`` (the account indexes exist since 0001; tenant ones are added
here), service invoices by ``updated_at`` (none existed). With ``id`` last, every page is an index range
scan whatever the table's size.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"

S = "billing"

INDEXES = {
    "invoices_account_timeline_idx": "service_invoices (account_id, updated_at DESC, id DESC)",
    "invoices_tenant_timeline_idx": "service_invoices (tenant_id, updated_at DESC, id DESC)",
    "ledger_tenant_timeline_idx": "ledger_entries (tenant_id, created_at DESC, id DESC)",
    "usage_tenant_timeline_idx": "usage_events (tenant_id, created_at DESC, id DESC)",
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {S}.{columns}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {S}.{name}")
