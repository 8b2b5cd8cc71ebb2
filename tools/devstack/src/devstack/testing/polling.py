"""The one polling helper of the tests and the demo: wait for an eventually consistent effect.

Every test tier (and ``make demo``) waits through :func:`eventually`, so a timeout reads the same
everywhere ("timed out waiting for <what>") and nobody hand-writes a deadline loop again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class NotYet(AssertionError):
    """``check`` gave no truthy result in time (an ``AssertionError``, so pytest reports it as a failure)."""


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, *, within_s: float = 30.0, every_s: float = 0.1
) -> T:
    """The first truthy result of ``check``, tried every ``every_s``; raises :class:`NotYet` ("timed out
    waiting for <what>") once ``within_s`` have passed. An exception ``check`` raises ends the wait."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise NotYet(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)
