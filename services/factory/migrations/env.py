"""Alembic environment of the factory schema (run as the schema owner by `python -m factory_service.main migrate`)."""

from alembic import context

from shared.db.migrations import run_env

run_env(context.config)
