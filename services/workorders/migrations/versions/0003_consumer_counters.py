"""Consumer counters (issue 19 item 2): the duplicates each consumer's inbox absorbed, for ``/metrics``.

Revision ID: 0003
Revises: 0002
"""

from shared.db.migrations import run_sql
from shared.messaging.schema import counters_drop_sql, counters_tables_sql

revision = "0003"
down_revision = "0002"

S = "workorders"


def upgrade() -> None:
    run_sql(counters_tables_sql(S))
    # the stream process (system role) counts; /metrics reads as the system role too
    run_sql([f"GRANT SELECT, INSERT, UPDATE ON {S}.consumer_counters TO {S}_system", f"GRANT SELECT ON {S}.consumer_counters TO {S}_app"])


def downgrade() -> None:
    run_sql(counters_drop_sql(S))
