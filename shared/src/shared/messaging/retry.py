"""Which failures are worth another attempt.

A consumer retries a message with backoff, then dead-letters it and parks its key. Retrying only helps
when the failure can pass: the database or the broker away or busy (connection lost, timeout,
serialization failure, deadlock), or a handler saying "not yet" (a projection it needs has not arrived).
A programming error or data that cannot be processed fails the same way every time: such a message goes
to the dead-letter topic at once instead of after five attempts.

The database being away (:func:`shared.availability.database_away`: connection refused, lost or
closed, the server starting up or shutting down) is no fault of the message at all: the consumer waits for it to come back without
spending the message's attempts, so a Postgres restart never dead-letters (and parks) a good message.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, NotSupportedError, ProgrammingError

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
