"""The work queue's rules, pure: filters the gateway has no parameter for, counts and pages.

``GET /v1/repogen/work-orders`` filters by status, report type and bank type and searches by bank name or
id, newest first, at most 100 rows. The console asks for the newest 100 matching rows once, then
filters by readiness, counts per status and pages locally.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

STATUSES = ("DRAFT", "EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER", "CANCELLED", "CLOSED")
REPORT_TYPES = ("VALUATION", "DPR", "REVALUATION", "STAGE_PROGRESS")
BANK_TYPES = ("SBI", "PSU_GENERIC", "COOP", "AGRI", "OTHER")
READINESS = ("ready", "incomplete", "no_snapshot")
FETCH_LIMIT = 100


@dataclass(frozen=True)
class QueueQuery:
    """The queue page's query string, bounded."""

    status: str | None = None
    report_type: str | None = None
    bank_type: str | None = None
    readiness: str | None = None
    search: str | None = None
    page: int = 1

    @classmethod
    def parse(cls, params: dict[str, str]) -> QueueQuery:
        """Unknown values are dropped (the page then shows everything), never an error page."""

        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = params.get(name, "").strip().upper() if name != "readiness" else params.get(name, "")
            return value if value in allowed else None

        search = params.get("search", "").strip()[:100] or None
        try:
            page = max(1, min(int(params.get("page", "1")), 1000))
        except ValueError:
            page = 1
        return cls(
            status=pick("status", STATUSES),
            report_type=pick("report_type", REPORT_TYPES),
            bank_type=pick("bank_type", BANK_TYPES),
            readiness=pick("readiness", READINESS),
            search=search,
            page=page,
        )

    def gateway_params(self) -> dict[str, Any]:
        """What the gateway filters itself (status is counted locally, so never sent)."""
        return {
            "report_type": self.report_type,
            "bank_type": self.bank_type,
            "search": self.search,
            "limit": FETCH_LIMIT,
        }

    def link(self, **changes: Any) -> str:
        """The query string of this query with ``changes`` (page resets unless given)."""
        values = {
            "status": self.status,
            "report_type": self.report_type,
            "bank_type": self.bank_type,
            "readiness": self.readiness,
            "search": self.search,
            "page": 1,
        }
        values.update(changes)
        from urllib.parse import urlencode

        return "?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})


def readiness_of(item: dict[str, Any]) -> str:
    """``ready`` (nothing missing), ``incomplete`` or ``no_snapshot`` from the list item's readiness."""
    readiness = item.get("readiness")
    if item.get("latest_snapshot_version") is None or not isinstance(readiness, dict):
        return "no_snapshot"
    missing = (readiness.get("missing_fields") or []) + (readiness.get("missing_evidence") or [])
    return "incomplete" if missing else "ready"


def billing_gate_of(item: dict[str, Any]) -> str:
    """The billing badge: the mode chosen at acceptance, or ``not accepted``."""
    billing = item.get("billing") or {}
    mode = billing.get("mode_cache")
    if mode:
        return str(mode)
    if billing.get("reservation_id"):
        return "CREDIT"
    if billing.get("service_invoice_id"):
        return "POSTPAID"
    return "not accepted"


def pack_of(item: dict[str, Any]) -> str:
    """The pack badge: linked or not (the list carries no job status)."""
    return "pack linked" if item.get("report_pack_id") else "no pack"


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and the figures around it."""

    items: list[dict[str, Any]]
    counts: dict[str, int]
    total: int
    page: int
    pages: int


def build_page(items: list[dict[str, Any]], query: QueueQuery, page_size: int) -> QueuePage:
    """Counts per status over the readiness-filtered rows, then the status filter and the page."""
    rows = [i for i in items if query.readiness is None or readiness_of(i) == query.readiness]
    counts = Counter(str(i.get("status")) for i in rows)
    shown = [i for i in rows if query.status is None or i.get("status") == query.status]
    pages = max(1, math.ceil(len(shown) / page_size))
    page = min(query.page, pages)
    start = (page - 1) * page_size
    return QueuePage(
        items=shown[start : start + page_size],
        counts={s: counts.get(s, 0) for s in STATUSES},
        total=len(shown),
        page=page,
        pages=pages,
    )
