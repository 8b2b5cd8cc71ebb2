"""Unsendable outbox messages: rows the relay moved aside (too large / refused by the broker).

A message the broker can never accept is moved out of ``evidence.outbox`` into ``evidence.unsendable_messages``;
later outbox rows of the same topic and key stay unpublished behind it until an operator replays or
discards it (``python -m evidence_service.main replay-parked TOPIC KEY [--discard]``). See
``shared.messaging.relay``.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.db.rls import grants_sql
from shared.messaging.schema import unsendable_drop_sql, unsendable_tables_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "evidence"


def upgrade() -> None:
    for stmt in unsendable_tables_sql(S):
        op.execute(stmt)
    for stmt in grants_sql(S):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in unsendable_drop_sql(S):
        op.execute(stmt)
