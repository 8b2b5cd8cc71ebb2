"""Evidence checklist and field-link suggestions (domain.md §4.5, §4.6).

Pure functions over plain mappings so that the evidence service (which owns profiles and evidence)
and any reader of the `evidence_state` event compute exactly the same checklist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.domain.matching import evidence_matches_requirement

__all__ = ["checklist_item_label", "evaluate_checklist", "suggest_for_missing_fields"]


def checklist_item_label(item: Mapping[str, Any]) -> str:
    """The display label of a profile item: its trimmed label, else ``<TYPE>[:<DOC>]``."""
    label = item.get("label")
    if isinstance(label, str) and label.strip():
        return label.strip()
    doc_type = item.get("doc_type")
    suffix = f":{doc_type}" if doc_type else ""
    return f"{item.get('evidence_type')}{suffix}"


def _effective_min(min_count: Any) -> int:
    # The original computes max(0, min_count); a missing/non-integer count behaves like 0 there.
    if isinstance(min_count, bool) or not isinstance(min_count, int):
        return 0
    return max(0, min_count)


def _order_key(item: Mapping[str, Any]) -> tuple[int, int, str]:
    order_hint = item.get("order_hint")
    ident = str(item.get("id", ""))
    if isinstance(order_hint, int) and not isinstance(order_hint, bool):
        return (0, order_hint, ident)
    # Items without an order hint go last; the id makes the order total and deterministic.
    return (1, 0, ident)


def evaluate_checklist(
    profile_items: Iterable[Mapping[str, Any]], evidence: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Evaluate every profile item against the evidence of one work order (§4.5).

    Items are ordered by ``order_hint`` ascending (missing hints last) then ``id``. Each output row
    echoes the item (``id, label, evidence_type, doc_type, min_count, is_required, tags_json,
    order_hint, field_key_hint``) and adds ``current_count``, ``missing_count``, ``satisfied`` and
    ``matching_evidence_item_ids`` (evidence ids in the order given). Optional items are evaluated with
    the same formula, so an optional item can be ``satisfied: false``.
    """
    rows: list[dict[str, Any]] = []
    for item in sorted(profile_items, key=_order_key):
        matching_ids = [str(ev.get("id")) for ev in evidence if evidence_matches_requirement(ev, item)]
        minimum = _effective_min(item.get("min_count"))
        count = len(matching_ids)
        tags = item.get("tags_json")
        rows.append(
            {
                "id": item.get("id"),
                "label": checklist_item_label(item),
                "evidence_type": item.get("evidence_type"),
                "doc_type": item.get("doc_type"),
                "min_count": item.get("min_count"),
                "is_required": bool(item.get("is_required", True)),
                "tags_json": dict(tags) if isinstance(tags, Mapping) else None,
                "order_hint": item.get("order_hint"),
                "field_key_hint": item.get("field_key_hint"),
                "current_count": count,
                "missing_count": max(0, minimum - count),
                "satisfied": count >= minimum,
                "matching_evidence_item_ids": matching_ids,
            }
        )
    return rows


def suggest_for_missing_fields(
    missing_field_keys: Iterable[str], checklist: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Suggest checklist items that could back each field still lacking an evidence link (§4.6).

    Keys are trimmed, blanks dropped and duplicates collapsed, keeping first-seen order. A field gets a
    suggestion entry only when at least one checklist item names it in ``field_key_hint``.
    """
    seen: set[str] = set()
    suggestions: list[dict[str, Any]] = []
    for raw_key in missing_field_keys:
        key = raw_key.strip()
        if not key or key in seen:
            continue
        seen.add(key)
        items = [
            {
                "profile_item_id": row.get("id"),
                "label": row.get("label"),
                "current_count": row.get("current_count"),
                "min_count": row.get("min_count"),
                "satisfied": row.get("satisfied"),
                "is_required": row.get("is_required"),
            }
            for row in checklist
            if row.get("field_key_hint") == key
        ]
        if items:
            suggestions.append({"field_key": key, "suggested_items": items})
    return suggestions
