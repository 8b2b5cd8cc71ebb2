"""Test doubles of the bridge's unit tests: a clock to move by hand and a scripted status source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from v1_bridge.status import StatusUnavailable

Reply = dict[str, Any] | Exception


class FakeClock:
    """Monotonic seconds and the matching wall clock, advanced only by :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._epoch = datetime(2026, 1, 1, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return self._epoch + timedelta(seconds=self.now)


class ScriptedSource:
    """Answers ``replies`` in order (an exception is raised), then repeats ``then``; counts calls."""

    def __init__(self, *replies: Reply, then: Callable[[str], Reply] | None = None) -> None:
        self._replies = list(replies)
        self._then = then
        self.calls: list[str] = []

    async def fetch(self, key: str) -> dict[str, Any]:
        self.calls.append(key)
        reply: Reply
        if self._replies:
            reply = self._replies.pop(0)
        elif self._then is not None:
            reply = self._then(key)
        else:
            reply = StatusUnavailable("no scripted reply left")
        if isinstance(reply, Exception):
            raise reply
        return dict(reply)


def credit_status(key: str, *, available: int = 5, mode: str = "credit") -> dict[str, Any]:
    """A V2 status answer (the HTTP route's shape) for ``key``."""
    return {
        "account_id": "6b0c6d55-2d6d-4f4a-9f0a-0c1d2e3f4a5b",
        "tenant_id": "11111111-1111-1111-1111-111111111111",
        "account_type": "EXTERNAL_ASSOCIATE",
        "external_key": key,
        "display_name": "Partner",
        "account_status": "ACTIVE",
        "billing_mode": mode,
        "payment_terms_days": 30,
        "credit_cost_model": "FLAT",
        "currency": "INR",
        "is_enabled": True,
        "credit": {"wallet": available, "reserved": 0, "available": available},
        "monthly_report_allowance": None,
    }
