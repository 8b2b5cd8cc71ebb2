"""Annexure auto-order (domain.md §4.9): a deterministic page order for the report's annexures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

__all__ = ["CATEGORY_RANKS", "EVIDENCE_TYPE_RANKS", "annexure_rank", "auto_order"]

CATEGORY_RANKS: Final[Mapping[str, int]] = {
    "exterior": 10,
    "interior": 20,
    "surroundings": 30,
    "gps": 40,
    "google_map": 50,
    "route_map": 60,
}
"""Rank by ``tags.category`` (lower-cased): the order a valuer presents site evidence in."""

EVIDENCE_TYPE_RANKS: Final[Mapping[str, int]] = {
    "SCREENSHOT": 70,
    "GEO": 80,
    "PHOTO": 90,
    "DOCUMENT": 100,
}
"""Fallback rank by evidence type when the category is not one of the known ones."""

_OTHER_RANK: Final = 200


def annexure_rank(item: Mapping[str, Any]) -> int:
    """The §4.9 rank of one evidence item (lower comes first)."""
    tags = item.get("tags")
    if isinstance(tags, Mapping):
        category = tags.get("category")
        if isinstance(category, str) and category.lower() in CATEGORY_RANKS:
            return CATEGORY_RANKS[category.lower()]
    return EVIDENCE_TYPE_RANKS.get(str(item.get("evidence_type")), _OTHER_RANK)


def _instant(value: Any) -> float | None:
    # created_at arrives as a datetime from the database or an ISO string from an event; compare
    # instants, not text, so both forms order the same.
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def _sort_key(item: Mapping[str, Any]) -> tuple[int, int, int, int, float, str]:
    order = item.get("annexure_order")
    # Existing order first, nulls last.
    order_key = (0, order) if isinstance(order, int) and not isinstance(order, bool) else (1, 0)
    created = _instant(item.get("created_at"))
    return (
        annexure_rank(item),
        *order_key,
        0 if created is not None else 1,
        created if created is not None else 0.0,
        str(item.get("id", "")),
    )


def auto_order(evidence: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Assign ``annexure_order`` 1..n to every evidence item (§4.9).

    Sorted by category/type rank, then the existing ``annexure_order`` (nulls last), then
    ``created_at``, then ``id``. Returns ``{evidence_item_id: new_order}``; the caller updates only the
    order column (the original UI re-sent whole items and wiped other columns — we do not).
    """
    ordered = sorted(evidence, key=_sort_key)
    return {str(item["id"]): position for position, item in enumerate(ordered, start=1)}
