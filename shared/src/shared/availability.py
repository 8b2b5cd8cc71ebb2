"""Which failures mean "a dependency is away, come back later" (issue 19: 503 ``SERVICE_UNAVAILABLE``).

A request that fails because the database or the broker cannot be reached is not a bug: the client may
retry it as it is. :func:`unavailable_dependency` recognises such a failure anywhere in an exception's
chain (``__cause__``, ``__context__``, SQLAlchemy's ``orig``, exception groups), so the one place that
answers unexpected failures (``shared.http.RequestContextMiddleware``) turns it into a 503 with
``Retry-After`` instead of a 500 with a logged traceback:

* the database: connection refused/reset, a timeout opening a connection, asyncpg's connection errors
  (class 08: ``ConnectionDoesNotExistError``, ``ConnectionFailureError``, ...), the server starting up or
  shutting down (``CannotConnectNowError``, ``AdminShutdownError``, ``CrashShutdownError``), too many
  connections, a closed connection, SQLAlchemy's pool timeout and invalidated connections;
* the broker: aiokafka's connection and timeout errors and any error it calls retriable (no leader,
  not enough replicas, ...).

Anything else stays a 500: a bug must not hide behind a retry.
"""

from __future__ import annotations

import errno
import sys
from types import ModuleType

from shared.errors import DomainError

DATABASE = "database"
BROKER = "broker"

#: how deep an exception chain is followed (a chain is short; a cycle must not loop)
_MAX_LINKS = 32

#: the driver and client modules whose errors are recognised, looked up in ``sys.modules`` only: an error
#: of a module the process never imported cannot exist, so a process without a database or a broker
#: client (the gateway) does not import them for this (issue 18: RSS)
_PG_ERRORS = "asyncpg.exceptions"
_SA_ERRORS = "sqlalchemy.exc"
_KAFKA_ERRORS = "aiokafka.errors"


def _loaded(module: str) -> ModuleType | None:
    return sys.modules.get(module)


def _pg_unavailable(pg: ModuleType) -> tuple[type[BaseException], ...]:
    return (
        pg.PostgresConnectionError,  # class 08: the connection failed or does not exist
        pg.CannotConnectNowError,  # 57P03: the server is starting up or shutting down
        pg.AdminShutdownError,  # 57P01
        pg.CrashShutdownError,  # 57P02
        pg.TooManyConnectionsError,  # 53300
    )


def _kafka_unavailable(kafka: ModuleType) -> tuple[type[BaseException], ...]:
    return (
        kafka.KafkaConnectionError,
        kafka.KafkaTimeoutError,
        kafka.NoBrokersAvailable,
        kafka.KafkaUnavailableError,
        kafka.BrokerNotAvailableError,
    )


_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
    }
)
_CLOSED = ("connection is closed", "connection was closed", "underlying connection is closed")


class ServiceUnavailable(DomainError, code="SERVICE_UNAVAILABLE", status=503):
    """The database or the broker does not answer right now; ``Retry-After`` says when to try again
    (``details``: ``dependency`` and ``retry_after_s``)."""


def _links(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from or during, breadth first, each once."""
    seen: list[BaseException] = []
    queue: list[BaseException] = [exc]
    while queue and len(seen) < _MAX_LINKS:
        current = queue.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        more: list[BaseException | None] = [current.__cause__, current.__context__]
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        more.append(orig if isinstance(orig, BaseException) else None)
        if isinstance(current, BaseExceptionGroup):
            more.extend(current.exceptions)
        queue.extend(e for e in more if e is not None)
    return seen


def _kind(exc: BaseException) -> str | None:
    pg, sa, kafka = _loaded(_PG_ERRORS), _loaded(_SA_ERRORS), _loaded(_KAFKA_ERRORS)
    closed = any(m in str(exc) for m in _CLOSED)
    if pg is not None and (
        isinstance(exc, _pg_unavailable(pg)) or (isinstance(exc, pg.InterfaceError) and closed)
    ):
        return DATABASE
    if sa is not None:
        if isinstance(exc, sa.TimeoutError):  # the pool had no connection to give in time
            return DATABASE
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return DATABASE
        if isinstance(exc, sa.InterfaceError) and closed:
            return DATABASE
    if kafka is not None:
        if isinstance(exc, _kafka_unavailable(kafka)):
            return BROKER
        if isinstance(exc, kafka.KafkaError) and exc.retriable:
            return BROKER
    return None


def unavailable_dependency(exc: BaseException) -> str | None:
    """``"database"`` or ``"broker"`` when ``exc`` means that dependency is away, else ``None``.

    A bare connection error or timeout (what asyncpg raises when the server refuses or does not answer
    the connection) counts as the database when nothing in the chain names the broker.
    """
    links = _links(exc)
    for link in links:
        kind = _kind(link)
        if kind is not None:
            return kind
    if any(_network(link) for link in links):
        return DATABASE
    return None


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is away: :func:`unavailable_dependency`'s database errors and a
    refused or reset connection, but not a bare timeout (a handler's own timeout is no outage, and the
    stream consumer waits out an outage without spending a message's attempts)."""
    return any(
        _kind(link) == DATABASE or (_network(link) and not isinstance(link, TimeoutError))
        for link in _links(exc)
    )


def _network(exc: BaseException) -> bool:
    """A refused, reset or timed-out connection (asyncio reports several refused addresses as one
    ``OSError("Multiple exceptions: ... Connect call failed ...")`` without an errno)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return isinstance(exc, OSError) and (exc.errno in _NETWORK_ERRNOS or "Connect call failed" in str(exc))


def service_unavailable(dependency: str, retry_after_s: int) -> ServiceUnavailable:
    """The 503 a request gets while ``dependency`` is away."""
    return ServiceUnavailable(
        f"the {dependency} is unavailable, retry later",
        details={"dependency": dependency, "retry_after_s": retry_after_s},
    )
