"""Read-your-writes across services (architecture §4) and bounded waits on saga outcomes.

Every write answers with ``x-zenops-version: <service>:<aggregate>:<id>:<version>``. A request may carry
tokens back in ``x-zenops-after`` (comma separated); a service waits, bounded, until the projections it
keeps of those aggregates have reached the versions, and only then answers or decides. The gateway keeps
each client's newest tokens and attaches them, so clients that know nothing of tokens read their writes.

Bounds (issue 12): a token is at most ``MAX_TOKEN_LENGTH`` characters with a version that fits a bigint;
a client may send at most ``MAX_CLIENT_TOKENS`` itself (the gateway answers 400 beyond, see
:func:`parse_client_tokens`); a service waits on at most ``MAX_AWAITED_TOKENS`` distinct aggregates and
never longer than ``MAX_WAIT_S`` whatever the caller asks, checking the pending tokens a few at a time
(``LOOKUP_CONCURRENCY``) with a backing-off poll.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import BadRequest

VERSION_HEADER = "x-zenops-version"
AFTER_HEADER = "x-zenops-after"

#: tokens a client may send itself in ``x-zenops-after`` (the gateway's own per-client tokens are extra)
MAX_CLIENT_TOKENS = 32
#: characters of one token (``<service>:<aggregate>:<id>:<version>``; ids are uuids in practice)
MAX_TOKEN_LENGTH = 200
#: bytes of a client's ``x-zenops-after`` header(s) in total
MAX_AFTER_HEADER_BYTES = MAX_CLIENT_TOKENS * (MAX_TOKEN_LENGTH + 1)
#: distinct aggregates one request of a service waits on (gateway: 32 sent + 64 remembered, filtered)
MAX_AWAITED_TOKENS = 128
#: hard upper bound of one request's wait on projections, whatever budget the caller passes
MAX_WAIT_S = 30.0
#: projection lookups of one request in flight at once (each is one short transaction)
LOOKUP_CONCURRENCY = 4

_MAX_VERSION = 2**63 - 1
_TOKEN = re.compile(r"([a-z][a-z0-9-]{0,31}):([a-z][a-z0-9-]{0,63}):([^:,\s]{1,128}):([0-9]{1,19})")

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
        """A token, or ``None`` when ``raw`` is not one (ASCII digits only, version ≤ 2⁶³−1)."""
        raw = raw.strip()
        if len(raw) > MAX_TOKEN_LENGTH:
            return None
        match = _TOKEN.fullmatch(raw)
        if match is None:
            return None
        version = int(match.group(4))
        if version > _MAX_VERSION:
            return None
        return cls(match.group(1), match.group(2), match.group(3), version)


def parse_tokens(header: str | None) -> list[VersionToken]:
    """Tokens of an ``x-zenops-after`` / ``x-zenops-version`` header; malformed ones are ignored."""
    if not header:
        return []
    return [t for t in (VersionToken.parse(p) for p in header.split(",")) if t is not None]


def parse_client_tokens(header: str | None) -> list[VersionToken]:
    """The tokens a client sent itself, strictly: 400 ``TOO_MANY_CONSISTENCY_TOKENS`` beyond
    ``MAX_CLIENT_TOKENS`` (or ``MAX_AFTER_HEADER_BYTES``), 400 ``INVALID_CONSISTENCY_TOKEN`` for a
    malformed one. Empty items (``a,,b``, a trailing comma) are skipped."""
    if not header:
        return []
    limits = {"max_tokens": MAX_CLIENT_TOKENS, "max_token_length": MAX_TOKEN_LENGTH}
    if len(header) > MAX_AFTER_HEADER_BYTES:
        raise BadRequest(
            f"{AFTER_HEADER} is longer than {MAX_AFTER_HEADER_BYTES} characters",
            code="TOO_MANY_CONSISTENCY_TOKENS",
            details={**limits, "max_header_length": MAX_AFTER_HEADER_BYTES},
        )
    items = [p.strip() for p in header.split(",") if p.strip()]
    if len(items) > MAX_CLIENT_TOKENS:
        raise BadRequest(
            f"{AFTER_HEADER} carries {len(items)} tokens, at most {MAX_CLIENT_TOKENS} are accepted",
            code="TOO_MANY_CONSISTENCY_TOKENS",
            details={**limits, "count": len(items)},
        )
    tokens: list[VersionToken] = []
    for index, item in enumerate(items):
        token = VersionToken.parse(item)
        if token is None:
            raise BadRequest(
                f"{AFTER_HEADER} item {index} is not <service>:<aggregate>:<id>:<version>",
                code="INVALID_CONSISTENCY_TOKEN",
                details={**limits, "index": index, "token": item[:MAX_TOKEN_LENGTH]},
            )
        tokens.append(token)
    return tokens


def newest(tokens: Iterable[VersionToken]) -> list[VersionToken]:
    """One token per aggregate (the highest version), in a stable order."""
    merged: dict[tuple[str, str, str], VersionToken] = {}
    for token in tokens:
        current = merged.get(token.key)
        if current is None or token.version > current.version:
            merged[token.key] = token
    return [merged[k] for k in sorted(merged)]


def format_tokens(tokens: Iterable[VersionToken]) -> str:
    return ",".join(str(t) for t in tokens)


ProjectionLookup = Callable[[str], Awaitable[int | None]]


async def wait_until(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout_s: float,
    interval_s: float = 0.05,
    max_interval_s: float | None = None,
) -> T | None:
    """Poll ``check`` until it returns a value or ``timeout_s`` passes (then ``None``).

    The pause starts at ``interval_s`` and grows by half each round up to ``max_interval_s`` (default:
    no growth), so a long wait does not poll the database at the rate of a short one.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout_s)
    pause = interval_s
    ceiling = max(interval_s, max_interval_s if max_interval_s is not None else interval_s)
    while True:
        value = await check()
        if value is not None:
            return value
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
        pause = min(ceiling, pause * 1.5)


async def await_projections(
    tokens: Iterable[VersionToken],
    lookups: Mapping[tuple[str, str], ProjectionLookup],
    *,
    timeout_s: float,
) -> list[VersionToken]:
    """Wait until every projected aggregate named by ``tokens`` reached its version.

    Tokens of aggregates this service does not project are ignored; one token per aggregate counts (the
    highest version). More than ``MAX_AWAITED_TOKENS`` → 400 ``TOO_MANY_CONSISTENCY_TOKENS``. The wait
    never exceeds ``MAX_WAIT_S``; the pending tokens are checked ``LOOKUP_CONCURRENCY`` at a time and no
    lookup starts after the deadline. Returns the tokens still not reached when the bound expired (empty
    when consistent).
    """
    pending = newest(t for t in tokens if (t.service, t.aggregate) in lookups)
    if not pending:
        return []
    if len(pending) > MAX_AWAITED_TOKENS:
        raise BadRequest(
            f"{len(pending)} consistency tokens to wait on, at most {MAX_AWAITED_TOKENS}",
            code="TOO_MANY_CONSISTENCY_TOKENS",
            details={"count": len(pending), "max_tokens": MAX_AWAITED_TOKENS},
        )
    loop = asyncio.get_running_loop()
    budget = min(max(0.0, timeout_s), MAX_WAIT_S)
    deadline = loop.time() + budget
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def _reached(token: VersionToken) -> bool:
        async with gate:
            if loop.time() >= deadline and budget > 0:
                return False
            current = await lookups[(token.service, token.aggregate)](token.aggregate_id)
            return current is not None and current >= token.version

    async def _check() -> bool | None:
        nonlocal pending
        reached = await asyncio.gather(*(_reached(t) for t in pending))
        pending = [t for t, ok in zip(pending, reached, strict=True) if not ok]
        return True if not pending else None

    await wait_until(_check, timeout_s=max(0.0, deadline - loop.time()), max_interval_s=0.25)
    return pending


def wait_budget_ms(raw: str | None, *, default_ms: int, max_ms: int) -> int:
    """The ``wait`` query parameter (ms): default 5000, 0 = answer 202 at once, bounded by ``max_ms``."""
    if raw is None or raw == "":
        return default_ms
    if len(raw) > 12 or not raw.isascii():
        raise BadRequest("wait must be an integer number of milliseconds", code="INVALID_WAIT")
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("wait must be an integer number of milliseconds", code="INVALID_WAIT") from None
    if value < 0:
        raise BadRequest("wait must be >= 0", code="INVALID_WAIT")
    return min(value, max_ms)
