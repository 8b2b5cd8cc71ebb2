"""Each service's ``tables.py`` (the SQLAlchemy Core tables its repositories use) describes the schema its
migrations really create: the same tables, the same columns, the same nullability, the same primary keys.

The migrations are the source of truth (they run as the schema owner); this test keeps the Python side
from drifting. The messaging tables every schema shares (outbox, inbox, ...) belong to
``shared.messaging`` and are not part of a service's ``tables.py``.
"""

from __future__ import annotations

import importlib

import asyncpg
import pytest
from sqlalchemy import MetaData

from devstack.launcher import StackInfo
from shared.db.migrations import SHARED_TABLES as MESSAGING_TABLES

pytestmark = pytest.mark.stack

SERVICES = ("workorders", "evidence", "factory", "billing")

Columns = dict[str, dict[str, bool]]  # table -> column -> nullable


def _metadata_of(service: str) -> MetaData:
    # the whole service first: some tables live in modules of their own that register on the one
    # MetaData when imported (billing's payment_tables), and this test must not depend on which tests
    # ran before it
    importlib.import_module(f"{service}_service.bootstrap")
    module = importlib.import_module(f"{service}_service.tables")
    found = [value for value in vars(module).values() if isinstance(value, MetaData)]
    assert len(found) == 1, f"{service}_service.tables must define exactly one MetaData, found {len(found)}"
    return found[0]


def _declared(metadata: MetaData) -> tuple[Columns, dict[str, set[str]]]:
    columns: Columns = {}
    keys: dict[str, set[str]] = {}
    for table in metadata.tables.values():
        columns[table.name] = {column.name: bool(column.nullable) for column in table.columns}
        keys[table.name] = {column.name for column in table.primary_key.columns}
    return columns, keys


async def _migrated(stack: StackInfo, schema: str) -> tuple[Columns, dict[str, set[str]]]:
    conn = await asyncpg.connect(
        stack.dsns[schema]["owner"].replace("postgresql+asyncpg://", "postgresql://", 1)
    )
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, is_nullable = 'YES' AS nullable FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name <> 'alembic_version'",
            schema,
        )
        pk_rows = await conn.fetch(
            "SELECT kcu.table_name, kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
            "AND kcu.table_schema = tc.table_schema "
            "WHERE tc.table_schema = $1 AND tc.constraint_type = 'PRIMARY KEY'",
            schema,
        )
    finally:
        await conn.close()
    columns: Columns = {}
    for row in rows:
        if row["table_name"] not in MESSAGING_TABLES:
            columns.setdefault(row["table_name"], {})[row["column_name"]] = row["nullable"]
    keys: dict[str, set[str]] = {}
    for row in pk_rows:
        if row["table_name"] not in MESSAGING_TABLES:
            keys.setdefault(row["table_name"], set()).add(row["column_name"])
    return columns, keys


@pytest.mark.parametrize("service", SERVICES)
async def test_tables_py_matches_the_migrated_schema(stack: StackInfo, service: str) -> None:
    declared_columns, declared_keys = _declared(_metadata_of(service))
    migrated_columns, migrated_keys = await _migrated(stack, service)

    assert sorted(declared_columns) == sorted(migrated_columns), "tables differ"
    for table, columns in migrated_columns.items():
        assert declared_columns[table] == columns, f"{service}.{table}: columns or nullability differ"
        assert declared_keys.get(table, set()) == migrated_keys.get(table, set()), (
            f"{service}.{table}: primary key"
        )
