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
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from shared.contracts.topics import WORKORDERS_WORK_ORDER
from shared.errors import BadRequest, DomainError, NotFound

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
#: the current versions of several tokens' aggregates in one call (one transaction), by ``VersionToken.key``
ProjectionsLookup = Callable[[Sequence["VersionToken"]], Awaitable[Mapping[tuple[str, str, str], int | None]]]


async def wait_until(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout_s: float,
    interval_s: float = 0.05,
    max_interval_s: float | None = None,
    wake: asyncio.Event | None = None,
    pause_first: bool = False,
) -> T | None:
    """Poll ``check`` until it returns a value or ``timeout_s`` passes (then ``None``).

    The pause starts at ``interval_s`` and grows by half each round up to ``max_interval_s`` (default:
    no growth), so a long wait does not poll the database at the rate of a short one. With ``wake`` (an
    event a notification sets, :mod:`shared.db.notifications`) a pause ends as soon as it is set, so
    the poll is only the fallback: the event is cleared before each check, and one set during a check
    ends the next pause at once. ``pause_first`` starts with a pause (the caller knows the first check
    would find nothing, e.g. the outcome of a request it has just made).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout_s)
    pause = interval_s
    ceiling = max(interval_s, max_interval_s if max_interval_s is not None else interval_s)
    skip = pause_first
    while True:
        if skip:
            skip = False
        else:
            if wake is not None:
                wake.clear()
            value = await check()
            if value is not None:
                return value
        if loop.time() >= deadline:
            return None
        remaining = min(pause, max(0.0, deadline - loop.time()))
        if wake is None:
            await asyncio.sleep(remaining)
        else:
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), remaining)
        pause = min(ceiling, pause * 1.5)


async def await_projections(
    tokens: Iterable[VersionToken],
    lookups: Mapping[tuple[str, str], ProjectionLookup],
    *,
    timeout_s: float,
    lookup_many: ProjectionsLookup | None = None,
) -> list[VersionToken]:
    """Wait until every projected aggregate named by ``tokens`` reached its version.

    Tokens of aggregates this service does not project are ignored; one token per aggregate counts (the
    highest version). More than ``MAX_AWAITED_TOKENS`` → 400 ``TOO_MANY_CONSISTENCY_TOKENS``. The wait
    never exceeds ``MAX_WAIT_S``; the pending tokens are checked ``LOOKUP_CONCURRENCY`` at a time and no
    lookup starts after the deadline. Returns the tokens still not reached when the bound expired (empty
    when consistent). With ``lookup_many`` each round asks it once for every pending token (one
    transaction instead of one per token; ``lookups`` then only says which aggregates are projected).
    """
    pending = newest(t for t in tokens if (t.service, t.aggregate) in lookups)
    if not pending:
        return []
    awaited = [t.key for t in pending]
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

    async def _reached_many() -> list[bool]:
        if lookup_many is None:
            return list(await asyncio.gather(*(_reached(t) for t in pending)))
        if loop.time() >= deadline and budget > 0:
            return [False] * len(pending)
        current = await lookup_many(pending)
        return [(v := current.get(t.key)) is not None and v >= t.version for t in pending]

    async def _check() -> bool | None:
        nonlocal pending
        reached = await _reached_many()
        pending = [t for t, ok in zip(pending, reached, strict=True) if not ok]
        return True if not pending else None

    await wait_until(_check, timeout_s=max(0.0, deadline - loop.time()), max_interval_s=0.25)
    _note_awaited(awaited=awaited, pending=pending)
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


# ------------------------------------------------------------------ not found, or not yet consistent


@dataclass(frozen=True)
class ProjectedSource:
    """An aggregate a service projects from another's events: its token ``service:aggregate`` and the
    topic whose records carry its id as their key."""

    service: str
    aggregate: str
    topic: str


#: the work order, projected by evidence, billing and factory from ``workorders.work-order.v1``
WORK_ORDERS = ProjectedSource("workorders", "work-order", WORKORDERS_WORK_ORDER)


class NotYetConsistent(DomainError, code="NOT_YET_CONSISTENT", status=503):
    """The aggregate is not (yet) in this service's projection, but it may exist: the caller holds a
    consistency token for it, or the service's consumer has not read everything that could carry it.
    ``Retry-After`` says when to ask again (issue 19); ``details``: ``aggregate``, ``id``, ``reason``."""


class ProjectedNotFound(NotFound):
    """Base of a not-found of an aggregate the service projects (``source``): ``shared.http`` answers it
    404 only when nothing says the aggregate may still arrive (:func:`not_found_or_not_yet`), else 503
    :class:`NotYetConsistent`; :func:`shared.api.errors` documents both."""

    source: ClassVar[ProjectedSource] = WORK_ORDERS

    def __init__(
        self,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        aggregate_id: object = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, details, code=code, status=status)
        self.aggregate_id = str(aggregate_id) if aggregate_id is not None else None

    @property
    def token_key(self) -> tuple[str, str, str] | None:
        """``(service, aggregate, id)`` of the tokens naming this aggregate; ``None`` for an id that
        cannot exist (not a uuid: nothing will ever carry it)."""
        if self.aggregate_id is None:
            return None
        try:
            canonical = str(uuid.UUID(self.aggregate_id))
        except ValueError:
            return None
        return (self.source.service, self.source.aggregate, canonical)


@dataclass
class _Awaited:
    """The tokens one request waited on (:func:`await_projections`) and those still pending after."""

    awaited: set[tuple[str, str, str]]
    pending: set[tuple[str, str, str]]


_awaited_var: ContextVar[_Awaited | None] = ContextVar("zenops_awaited_tokens", default=None)


@contextmanager
def tracking_awaited_tokens() -> Iterator[None]:
    """Remember, for the request running inside, which tokens :func:`await_projections` left pending
    (``shared.http.RequestContextMiddleware`` opens one per request)."""
    reset = _awaited_var.set(_Awaited(set(), set()))
    try:
        yield
    finally:
        _awaited_var.reset(reset)


def _note_awaited(*, awaited: Iterable[tuple[str, str, str]], pending: Iterable[VersionToken]) -> None:
    record = _awaited_var.get()
    if record is None:
        return
    keys = set(awaited)
    record.awaited |= keys
    record.pending -= keys
    record.pending |= {t.key for t in pending}


def token_pending(key: tuple[str, str, str]) -> bool:
    """Whether the request carried a token for ``key`` that its projection had not reached when the
    request's bounded wait (:func:`await_projections`) ended."""
    record = _awaited_var.get()
    return record is not None and key in record.pending


def answers_not_yet(*, token_pending: bool, caught_up: bool | None) -> bool:
    """The rule of issue 19 for an aggregate missing from a projection: 503 ``NOT_YET_CONSISTENT`` when
    the request carries a token for it that the projection has not reached, or when the consumer is not
    caught up on the partition that would carry it (``None``: unknown, e.g. the broker is away);
    404 only when it is caught up."""
    return token_pending or caught_up is not True


CaughtUp = Callable[[str, str], Awaitable[bool]]


async def not_found_or_not_yet(
    exc: ProjectedNotFound, caught_up: CaughtUp | None, *, retry_after_s: int
) -> DomainError:
    """``exc`` itself (404), or the 503 :class:`NotYetConsistent` that replaces it (see
    :func:`answers_not_yet`). ``caught_up(topic, key)`` asks the broker (``shared.catchup.CatchUp``);
    without it (no consumer group to ask) the projection counts as caught up."""
    key = exc.token_key
    if key is None:
        return exc
    pending = token_pending(key)
    up = True if pending or caught_up is None else await caught_up(exc.source.topic, key[2])
    if not answers_not_yet(token_pending=pending, caught_up=up):
        return exc
    return NotYetConsistent(
        f"{exc.source.aggregate} {key[2]} is not known here yet, retry later",
        details={
            "aggregate": f"{exc.source.service}:{exc.source.aggregate}",
            "id": key[2],
            "reason": "TOKEN_NOT_REACHED" if pending else "CONSUMER_BEHIND",
            "retry_after_s": retry_after_s,
        },
    )
