"""The wire format of every timestamp: ISO-8601 UTC with milliseconds and ``Z`` (domain.md §0).

One implementation for every service, so responses, events and hashes agree to the character.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso_utc(value: datetime) -> str:
    """``2026-02-24T10:00:00.000Z`` for an aware datetime (converted to UTC); naive values are kept as is."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: (second since the epoch, its text up to the seconds): the date part is formatted once a second
_second: tuple[int, str] = (-1, "")


def utc_now_iso() -> str:
    """The current instant in the wire format (as ``iso_utc(datetime.now(UTC))``, milliseconds
    truncated; stamped on every event, so the date is formatted once per second, not per call)."""
    global _second
    now_ms = time.time_ns() // 1_000_000
    second, ms = divmod(now_ms, 1000)
    cached, prefix = _second
    if cached != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, prefix)
    return f"{prefix}.{ms:03d}Z"
