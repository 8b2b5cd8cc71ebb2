"""Which failures are worth another attempt.

A consumer retries a message with backoff, then dead-letters it and parks its key. Retrying only helps
when the failure can pass: the database or the broker away or busy (connection lost, timeout,
serialization failure, deadlock), or a handler saying "not yet" (a projection it needs has not arrived).
A programming error or data that cannot be processed fails the same way every time: such a message goes
to the dead-letter topic at once instead of after five attempts.

The database being away (:func:`unavailable`: connection refused, lost or closed, the server starting
up or shutting down) is no fault of the message at all: the consumer waits for it to come back without
spending the message's attempts, so a Postgres restart never dead-letters (and parks) a good message.
"""

from __future__ import annotations

from collections.abc import Iterator

from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    PostgresConnectionError,
)
from asyncpg.exceptions import InterfaceError as PgInterfaceError
from sqlalchemy.exc import DataError, DBAPIError, NotSupportedError, ProgrammingError

#: failures that fail again on every attempt: code that does not fit the data, or data that does not
#: fit the code (an envelope or contract that does not parse, a value the database rejects as such)
PERMANENT: tuple[type[BaseException], ...] = (
    TypeError,
    AttributeError,
    NameError,
    LookupError,  # KeyError, IndexError
    ValueError,  # pydantic's ValidationError, bad uuids, JSON that does not parse
    ArithmeticError,
    NotImplementedError,
    AssertionError,
    ProgrammingError,  # SQL that cannot run: undefined table/column, syntax
    DataError,  # a value the column refuses (invalid input syntax, out of range)
    NotSupportedError,
)


def can_pass(exc: BaseException) -> bool:
    """Whether another attempt may succeed (anything not known to be permanent is given the chance)."""
    return not isinstance(exc, PERMANENT)


#: the server refusing or dropping connections: not up yet, shutting down, crashed, connection gone
_SERVER_AWAY: tuple[type[BaseException], ...] = (
    PostgresConnectionError,  # class 08: connection failure, connection does not exist
    CannotConnectNowError,  # 57P03: the database system is starting up / shutting down
    AdminShutdownError,  # 57P01
    CrashShutdownError,  # 57P02
    ConnectionError,  # refused, reset, aborted, broken pipe
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the DBAPI error SQLAlchemy wraps (``.orig``) and their causes and contexts."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (getattr(current, "orig", None), current.__cause__, current.__context__) if e]


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is away (not that the message or the code is wrong)."""
    for error in _chain(exc):
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _SERVER_AWAY):
            return True
        if isinstance(error, PgInterfaceError) and "connection is closed" in str(error):
            return True
    return False
