"""The record of the billing stream process's scheduled jobs (issue 16 item 5): one row per pass of the
subscription refill and of the reconciliation sweep, with its counts, so operators see on the ops routes
and ``/metrics`` what each replica did and when (decision 31's sweep, §7.7's due processing).

Not tenant data (a pass spans tenants): no RLS; only the system role reads, appends and prunes it.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"

S = "billing"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {S}.scheduler_runs (
        id UUID PRIMARY KEY,
        job TEXT NOT NULL CHECK (job IN ('subscription_refill', 'reconcile_sweep')),
        outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'failed', 'skipped_locked')),
        replica TEXT NOT NULL CHECK (length(replica) BETWEEN 1 AND 200),
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL,
        counts JSONB NOT NULL DEFAULT '{{}}'::jsonb,
        error TEXT CHECK (length(error) <= 500),
        CHECK (finished_at >= started_at)
    )"""
    )
    op.execute(f"CREATE INDEX scheduler_runs_job_idx ON {S}.scheduler_runs (job, started_at DESC)")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON {S}.scheduler_runs TO {S}_system")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {S}.scheduler_runs")
