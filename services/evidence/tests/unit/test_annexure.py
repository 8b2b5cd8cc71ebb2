"""Annexure auto-order (domain.md §4.9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evidence_service.domain.annexure import annexure_rank, auto_order


def _ev(
    ident: str,
    evidence_type: str,
    category: str | None = None,
    *,
    order: int | None = None,
    created_at: Any = "2026-02-24T10:00:00.000Z",
) -> dict[str, Any]:
    return {
        "id": ident,
        "evidence_type": evidence_type,
        "tags": {"category": category} if category is not None else None,
        "annexure_order": order,
        "created_at": created_at,
    }


class TestAnnexureRank:
    def test_category_ranks_are_case_insensitive(self) -> None:
        assert annexure_rank(_ev("a", "PHOTO", "Exterior")) == 10
        assert annexure_rank(_ev("a", "SCREENSHOT", "ROUTE_MAP")) == 60

    def test_unknown_category_falls_back_to_type(self) -> None:
        assert annexure_rank(_ev("a", "PHOTO", "site")) == 90
        assert annexure_rank(_ev("a", "DOCUMENT")) == 100
        assert annexure_rank(_ev("a", "OTHER")) == 200
        assert annexure_rank({"id": "a", "evidence_type": "GEO", "tags": {"category": 7}}) == 80


class TestAutoOrder:
    def test_full_valuation_set_in_report_order(self) -> None:
        evidence = [
            _ev("doc", "DOCUMENT"),
            _ev("other", "OTHER"),
            _ev("route", "SCREENSHOT", "route_map"),
            _ev("gmap", "SCREENSHOT", "google_map"),
            _ev("gps", "GEO", "gps"),
            _ev("sur", "PHOTO", "surroundings"),
            _ev("int", "PHOTO", "interior"),
            _ev("ext", "PHOTO", "exterior"),
            _ev("shot", "SCREENSHOT"),
            _ev("geo", "GEO"),
            _ev("photo", "PHOTO"),
        ]

        order = auto_order(evidence)

        assert sorted(order, key=order.__getitem__) == [
            "ext",
            "int",
            "sur",
            "gps",
            "gmap",
            "route",
            "shot",
            "geo",
            "photo",
            "doc",
            "other",
        ]
        assert sorted(order.values()) == list(range(1, 12))

    def test_ties_by_existing_order_nulls_last_then_created_then_id(self) -> None:
        evidence = [
            _ev("c", "PHOTO", "exterior", created_at="2026-02-24T10:00:02.000Z"),
            _ev("b", "PHOTO", "exterior", created_at="2026-02-24T10:00:01.000Z"),
            _ev("a", "PHOTO", "exterior", created_at="2026-02-24T10:00:01.000Z"),
            _ev("x", "PHOTO", "exterior", order=7),
            _ev("y", "PHOTO", "exterior", order=3),
        ]

        order = auto_order(evidence)

        assert order == {"y": 1, "x": 2, "a": 3, "b": 4, "c": 5}

    def test_datetimes_and_iso_strings_order_by_instant(self) -> None:
        evidence = [
            _ev("late", "GEO", created_at="2026-02-24T10:00:05.000Z"),
            _ev("early", "GEO", created_at=datetime(2026, 2, 24, 10, 0, 1, tzinfo=UTC)),
            _ev("unknown", "GEO", created_at=None),
        ]

        assert auto_order(evidence) == {"early": 1, "late": 2, "unknown": 3}

    def test_empty(self) -> None:
        assert auto_order([]) == {}
