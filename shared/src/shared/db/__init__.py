"""Async SQLAlchemy 2 plumbing: engines per role, the unit of work, RLS and Alembic helpers."""

from shared.db.database import Database, Role
from shared.db.uow import UnitOfWork

__all__ = ["Database", "Role", "UnitOfWork"]
