"""Which services' schemas are behind their migration head, found in-process.

``up`` runs a service's ``migrate`` only when the revision recorded in ``<schema>.alembic_version``
differs from the head(s) of the service's Alembic script directory: no process per service, no
Alembic environment, when nothing is to do.

The heads are read from the revision files' ``revision``/``down_revision`` assignments with
:mod:`ast` rather than through ``alembic.script.ScriptDirectory``: importing Alembic and every
revision's imports costs seconds on a busy machine, on every ``up`` and every test session.
``tools/devstack/tests/unit`` checks both agree.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from devstack.postgres import _run_sync

if TYPE_CHECKING:
    from devstack.catalog import ServiceSpec
    from devstack.launcher import StackInfo

__all__ = ["heads", "schemas_behind"]


def heads(migrations_dir: Path) -> frozenset[str]:
    """The head revision ids of a service's ``migrations`` folder: revisions nothing revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((migrations_dir / "versions").glob("*.py")):
        found = _assignments(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(found.get("revision"), str):
            revisions.add(str(found["revision"]))
            down = found.get("down_revision")
            revised.update([down] if isinstance(down, str) else down if isinstance(down, tuple) else ())
    return frozenset(revisions - revised)


def _assignments(module: ast.Module) -> dict[str, object]:
    values: dict[str, object] = {}
    for node in module.body:
        target, value = (
            (node.targets[0], node.value)
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            else (node.target, node.value)
            if isinstance(node, ast.AnnAssign)
            else (None, None)
        )
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return values


async def _applied(admin_dsn: str, schemas: tuple[str, ...]) -> dict[str, frozenset[str]]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        applied: dict[str, frozenset[str]] = {}
        for schema in schemas:
            table = await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".alembic_version')
            rows = await conn.fetch(f'SELECT version_num FROM "{schema}".alembic_version') if table else []  # noqa: S608  schema from the service catalog, never input
            applied[schema] = frozenset(str(row["version_num"]) for row in rows)
        return applied
    finally:
        await conn.close()


def schemas_behind(info: StackInfo, specs: tuple[ServiceSpec, ...]) -> tuple[ServiceSpec, ...]:
    """The services among ``specs`` whose schema is not at its head revision."""
    from devstack.launcher import repo_root

    with_db = tuple(spec for spec in specs if spec.schema is not None)
    schemas = tuple(spec.schema for spec in with_db if spec.schema is not None)
    applied = _run_sync(lambda: _applied(info.admin_dsn, schemas))
    root = repo_root()
    return tuple(
        spec
        for spec in with_db
        if spec.schema is not None and applied[spec.schema] != heads(root / spec.migrations_dir)
    )
