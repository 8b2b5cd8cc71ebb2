"""Ops routes (issue 17): the inbox keeps key, aggregate, work order and traceparent; story indexes; the
audit of ops writes (``ops_actions``).

Revision ID: 0003
Revises: 0002
"""

from shared.db.migrations import run_sql
from shared.messaging.schema import ops_drop_sql, ops_tables_sql

revision = "0003"
down_revision = "0002"

S = "factory"


def upgrade() -> None:
    run_sql(ops_tables_sql(S))
    # the audit is append-only for the login roles (only the new table: a schema-wide grant would give
    # back what the first revision revoked from the append-only tables)
    run_sql(
        [
            f"GRANT SELECT, INSERT ON {S}.ops_actions TO {S}_app, {S}_system",
            f"GRANT USAGE, SELECT ON SEQUENCE {S}.ops_actions_id_seq TO {S}_app, {S}_system",
        ]
    )


def downgrade() -> None:
    run_sql(ops_drop_sql(S))
