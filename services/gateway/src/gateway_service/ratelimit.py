"""Per-client rate limiting at the edge (architecture §6, decision 30: 429 with ``Retry-After``)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from gateway_service.errors import RateLimited


class RateLimiter:
    """A token bucket per client key: ``per_minute`` requests per minute, bursts up to ``burst``.

    Memory is bounded: the least recently seen clients are forgotten beyond ``max_clients`` (a forgotten
    client starts again with a full bucket, which only errs towards letting a request through).
    The state is process memory; each gateway replica limits on its own.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        max_clients: int = 100_000,
        error: type[RateLimited] = RateLimited,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(burst if burst is not None else per_minute)
        self._max_clients = max_clients
        self._error = error
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Take one token for ``client``; ``None`` when allowed, else the seconds until one is free."""
        now = self._clock()
        tokens, last = self._buckets.pop(client, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        if allowed:
            return None
        if self._rate <= 0:
            return 60
        return max(1, math.ceil((1.0 - tokens) / self._rate))

    def check(self, client: str) -> None:
        """429 with ``retry_after_s`` in details (the app turns it into ``Retry-After``)."""
        wait = self.retry_after(client)
        if wait is not None:
            raise self._error(details={"retry_after_s": wait})
