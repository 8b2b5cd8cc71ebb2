"""Differences between two contract snapshots, as rows of the snapshot history's diff table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One dotted key whose value differs: ``before``/``after`` are display strings (``None`` = absent)."""

    key: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Leaves of a JSON value by dotted key; lists are leaves (shown as compact JSON)."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return {prefix: shown}


def diff(
    before: dict[str, Any], after: dict[str, Any], *, ignore: tuple[str, ...] = ("audit.",)
) -> list[Change]:
    """The changed leaves from ``before`` to ``after`` by key, without the audit stamps."""
    old, new = flatten(before), flatten(after)
    keys = sorted(set(old) | set(new))
    return [
        Change(key, old.get(key), new.get(key))
        for key in keys
        if old.get(key) != new.get(key) and not key.startswith(ignore)
    ]
