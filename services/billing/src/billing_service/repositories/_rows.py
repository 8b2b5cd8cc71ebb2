"""Helpers shared by the repositories: typed rows from result mappings, uuid guards, filters."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, and_, true

T = TypeVar("T")


def from_row(cls: type[T], row: Mapping[Any, Any]) -> T:
    """A frozen row dataclass from a result mapping whose keys are its field names."""
    return cls(**{f.name: row[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def is_uuid(value: str) -> bool:
    """Whether ``value`` parses as a uuid (ids from paths and bodies are checked before SQL)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def new_id() -> str:
    """A fresh uuid4 string."""
    return str(uuid.uuid4())


def equal_to(table: Table, **values: str | None) -> ColumnElement[bool]:
    """``column = value`` for every given (non-None) value, ANDed (``true`` when none is given)."""
    clauses = [table.c[name] == value for name, value in values.items() if value is not None]
    return and_(true(), *clauses)
