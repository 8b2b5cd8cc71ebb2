"""The HTTP client a well-behaved caller of the gateway is: it retries what may pass later.

A request that failed in transit (connection refused or reset, timeout), answered 5xx (500, 502, 503,
504) or 429 is sent again, identically (same body, same ``Idempotency-Key``), after the answer's
``Retry-After`` or an exponential backoff with jitter, until a deadline. Any other answer is the
server's word and goes back to the caller: a 404 is final (a real client gives up on it, and the run
counts it). Every retry is counted by reason, so the report shows what the kills cost the clients.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["GaveUp", "RetryStats", "RetryingClient", "retry_after_s"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class GaveUp(RuntimeError):
    """The request kept failing in a retryable way until the deadline (or answered a final error)."""


@dataclass
class RetryStats:
    """Retries by reason (``503``, ``ConnectError``, ...) and the longest a request took to pass."""

    reasons: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    longest_s: float = 0.0

    @property
    def retries(self) -> int:
        """Every retry sent."""
        return sum(self.reasons.values())


def retry_after_s(response: httpx.Response) -> float | None:
    """The ``Retry-After`` of ``response`` in seconds (the delta-seconds form), if it carries one."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class RetryingClient:
    """``httpx.AsyncClient`` calls with retries on transient failures (see the module docstring)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        stats: RetryStats,
        rng: random.Random,
        *,
        deadline_s: float = 300.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.http = client
        self.stats = stats
        self._rng = rng
        self._deadline_s = deadline_s
        self._max_backoff_s = max_backoff_s

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The first answer that is not a transient failure; raises :class:`GaveUp` at the deadline."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self._deadline_s
        attempt = 0
        self.stats.requests += 1
        while True:
            reason: str
            wait: float | None = None
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            else:
                if response.status_code not in RETRY_STATUSES:
                    self.stats.longest_s = max(self.stats.longest_s, loop.time() - started)
                    return response
                reason = str(response.status_code)
                wait = retry_after_s(response)
            attempt += 1
            self.stats.reasons[reason] += 1
            if wait is None:
                wait = min(self._max_backoff_s, 0.25 * 2 ** min(attempt, 6)) * (0.5 + self._rng.random())
            if loop.time() + wait > deadline:
                raise GaveUp(f"{method} {url}: still failing ({reason}) after {self._deadline_s:.0f} s")
            await asyncio.sleep(wait)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """``GET`` with retries."""
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """``POST`` with retries (callers send an idempotency key)."""
        return await self.request("POST", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PATCH`` with retries (callers send an idempotency key)."""
        return await self.request("PATCH", url, **kwargs)
