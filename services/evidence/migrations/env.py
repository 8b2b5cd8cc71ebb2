"""Alembic environment of the evidence schema (run as the schema owner by `python -m evidence_service.main migrate`)."""

from alembic import context

from shared.db.migrations import run_env

run_env(context.config)
