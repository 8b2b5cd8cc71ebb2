"""The wire format of every timestamp: ISO-8601 UTC with milliseconds and ``Z`` (domain.md §0).

One implementation for every service, so responses, events and hashes agree to the character.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(value: datetime) -> str:
    """``2026-02-24T10:00:00.000Z`` for an aware datetime (converted to UTC); naive values are kept as is."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    """The current instant in the wire format."""
    return iso_utc(datetime.now(UTC))
