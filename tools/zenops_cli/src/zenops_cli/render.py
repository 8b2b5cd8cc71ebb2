"""What ``zenops`` prints: JSON (``--json``), or human tables (rich) and the indented span tree."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def dump_json(console: Console, value: Any) -> None:
    """Plain JSON on stdout (no colours, no wrapping), for scripts."""
    console.file.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


_FOLDED = frozenset({"REASON", "DETAIL", "VALUE", "TOPIC"})


def table(console: Console, title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table of ``rows`` under ``columns``."""
    out = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        # ids, keys and times stay on one line (copy-paste); free text folds
        out.add_column(column, overflow="fold", no_wrap=column not in _FOLDED)
    for row in rows:
        out.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(out)


def short(value: Any, width: int = 60) -> str:
    """One line of at most ``width`` characters."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------------------------------- traces


def _error_code(tags: dict[str, Any]) -> str:
    for key in ("zenops.error_code", "error.type", "error", "otel.status_description"):
        if tags.get(key):
            return str(tags[key])
    return ""


def span_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans as a tree, in time order: ``[{"span": …, "depth": n}]`` depth first (a span whose
    parent is not among them is a root)."""
    by_id = {str(s.get("id")): s for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span.get("parentId")
        key = str(parent) if parent is not None and str(parent) in by_id else None
        children.setdefault(key, []).append(span)
    for kids in children.values():
        kids.sort(key=lambda s: (int(s.get("timestamp") or 0), str(s.get("name"))))
    out: list[dict[str, Any]] = []
    stack = [(span, 0) for span in reversed(children.get(None, []))]
    seen: set[str] = set()
    while stack:
        span, depth = stack.pop()
        sid = str(span.get("id"))
        if sid in seen:
            continue
        seen.add(sid)
        out.append({"span": span, "depth": depth})
        stack.extend((kid, depth + 1) for kid in reversed(children.get(sid, [])))
    return out


def span_line(span: dict[str, Any], depth: int) -> str:
    """``  service  name  12.3 ms  [ERROR_CODE]`` indented by depth."""
    service = (span.get("localEndpoint") or {}).get("serviceName") or "?"
    duration_ms = int(span.get("duration") or 0) / 1000
    tags = span.get("tags") or {}
    error = _error_code(tags if isinstance(tags, dict) else {})
    line = f"{'  ' * depth}{service}  {span.get('name') or '?'}  {duration_ms:.1f} ms"
    return f"{line}  [{error}]" if error else line


def tree_json(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tree as JSON rows: depth, service, name, duration, error code, ids."""
    rows = []
    for item in span_tree(spans):
        span, depth = item["span"], item["depth"]
        tags = span.get("tags") or {}
        rows.append(
            {
                "depth": depth,
                "trace_id": span.get("traceId"),
                "span_id": span.get("id"),
                "parent_id": span.get("parentId"),
                "service": (span.get("localEndpoint") or {}).get("serviceName"),
                "name": span.get("name"),
                "timestamp_us": span.get("timestamp"),
                "duration_us": span.get("duration"),
                "error_code": _error_code(tags if isinstance(tags, dict) else {}) or None,
            }
        )
    return rows
