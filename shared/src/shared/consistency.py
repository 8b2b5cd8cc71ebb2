"""Read-your-writes across services (architecture §4) and bounded waits on saga outcomes.

Every write answers with ``x-zenops-version: <service>:<aggregate>:<id>:<version>``. A request may carry
tokens back in ``x-zenops-after`` (comma separated); a service waits, bounded, until the projections it
keeps of those aggregates have reached the versions, and only then answers or decides. The gateway keeps
each client's newest tokens and attaches them, so clients that know nothing of tokens read their writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import BadRequest

VERSION_HEADER = "x-zenops-version"
AFTER_HEADER = "x-zenops-after"

T = TypeVar("T")


@dataclass(frozen=True)
class VersionToken:
    service: str
    aggregate: str
    aggregate_id: str
    version: int

    def __str__(self) -> str:
        return f"{self.service}:{self.aggregate}:{self.aggregate_id}:{self.version}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.service, self.aggregate, self.aggregate_id)

    @classmethod
    def parse(cls, raw: str) -> VersionToken | None:
        parts = raw.strip().split(":")
        if len(parts) != 4 or not parts[3].isdigit():
            return None
        return cls(parts[0], parts[1], parts[2], int(parts[3]))


def parse_tokens(header: str | None) -> list[VersionToken]:
    """Tokens of an ``x-zenops-after`` / ``x-zenops-version`` header; malformed ones are ignored."""
    if not header:
        return []
    return [t for t in (VersionToken.parse(p) for p in header.split(",")) if t is not None]


def format_tokens(tokens: Iterable[VersionToken]) -> str:
    return ",".join(str(t) for t in tokens)


ProjectionLookup = Callable[[str], Awaitable[int | None]]


async def wait_until(
    check: Callable[[], Awaitable[T | None]], *, timeout_s: float, interval_s: float = 0.05
) -> T | None:
    """Poll ``check`` until it returns a value or ``timeout_s`` passes (then ``None``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout_s)
    while True:
        value = await check()
        if value is not None:
            return value
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(min(interval_s, max(0.0, deadline - loop.time())))


async def await_projections(
    tokens: Iterable[VersionToken],
    lookups: Mapping[tuple[str, str], ProjectionLookup],
    *,
    timeout_s: float,
) -> list[VersionToken]:
    """Wait until every projected aggregate named by ``tokens`` reached its version.

    Tokens of aggregates this service does not project are ignored. Returns the tokens still not
    reached when the bound expired (empty when consistent).
    """
    pending = [t for t in tokens if (t.service, t.aggregate) in lookups]

    async def _reached(token: VersionToken) -> bool:
        current = await lookups[(token.service, token.aggregate)](token.aggregate_id)
        return current is not None and current >= token.version

    async def _check() -> bool | None:
        nonlocal pending
        pending = [t for t in pending if not await _reached(t)]
        return True if not pending else None

    await wait_until(_check, timeout_s=timeout_s)
    return pending


def wait_budget_ms(raw: str | None, *, default_ms: int, max_ms: int) -> int:
    """The ``wait`` query parameter (ms): default 5000, 0 = answer 202 at once, bounded by ``max_ms``."""
    if raw is None or raw == "":
        return default_ms
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("wait must be an integer number of milliseconds", code="INVALID_WAIT") from None
    if value < 0:
        raise BadRequest("wait must be >= 0", code="INVALID_WAIT")
    return min(value, max_ms)
