"""The credit timeline's order and its keyset cursor (domain.md §7.5), as pure rules.

The timeline is the union of three sources: ledger entries (``CREDITS_LEDGER``), service invoices
(``SERVICE_INVOICE``, at their ``updated_at``) and usage events (``USAGE_V1``/``USAGE_V2``). One total
order makes pages join without gaps or repeats: newest first by the stored instant (microseconds), then
by source name ascending (so within one instant ledger comes before invoices before usage, as the
original's stable sort kept ledger before usage), then by id descending. A cursor is the position of the
last item of a page, ``(instant, source, id)``, encoded as opaque base64url JSON; the next page is every
item strictly after it in that order.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from billing_service.domain.errors import InvalidCursor

LEDGER_SOURCE = "CREDITS_LEDGER"
INVOICE_SOURCE = "SERVICE_INVOICE"
USAGE_V1_SOURCE = "USAGE_V1"
USAGE_V2_SOURCE = "USAGE_V2"
SOURCES = frozenset({LEDGER_SOURCE, INVOICE_SOURCE, USAGE_V1_SOURCE, USAGE_V2_SOURCE})
#: the ``ref_type`` of invoice items; a timeline asked for this ref type shows the one invoice ``ref_id``
INVOICE_REF_TYPE = "service_invoice"
#: the longest cursor the routes accept (an encoded cursor is about 130 characters)
MAX_CURSOR_LENGTH = 512
_CURSOR_VERSION = 1


def usage_source(source_system: str) -> str:
    """``USAGE_V1`` / ``USAGE_V2`` for a stored (lower-case) source system."""
    return f"USAGE_{source_system.upper()}"


def invoice_event_type(status: str) -> str:
    """``INVOICE_<STATUS>`` of a stored (lower-case) invoice status."""
    return f"INVOICE_{status.upper()}"


@dataclass(frozen=True, slots=True, order=False)
class TimelineKey:
    """The position of one item in the timeline's order."""

    at: datetime
    source: str
    id: str


class Positioned(Protocol):
    """Anything that has a timeline position."""

    @property
    def key(self) -> TimelineKey:
        """Its position."""
        ...


P = TypeVar("P", bound=Positioned)


class _Descending:
    """Inverts the order of a str for a sort key (ids descend while sources ascend)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def sort_key(key: TimelineKey) -> tuple[int, str, _Descending]:
    """Ascending sort key of the timeline order (newest first, source ascending, id descending); the
    instant as exact integer microseconds, never a float."""
    return (-((key.at - _EPOCH) // _MICROSECOND), key.source, _Descending(key.id))


def comes_after(key: TimelineKey, bound: TimelineKey) -> bool:
    """Whether ``key`` is strictly after ``bound`` in the timeline order."""
    if key.at != bound.at:
        return key.at < bound.at
    if key.source != bound.source:
        return key.source > bound.source
    return key.id < bound.id


@dataclass(frozen=True, slots=True)
class Page(Generic[P]):
    """One page of the timeline and the position to continue from (None: this was the last page)."""

    items: list[P]
    next_key: TimelineKey | None


def merge_page(sources: Iterable[Sequence[P]], limit: int) -> Page[P]:
    """The first ``limit`` items of the union of ``sources`` in the timeline order.

    Each source must hold its own first ``limit + 1`` items after the page's cursor (fewer when it has
    no more); then the union's first ``limit`` items are among them, and a ``limit + 1``-th item tells
    that a next page exists.
    """
    merged = sorted((item for source in sources for item in source), key=lambda i: sort_key(i.key))
    page = merged[:limit]
    more = len(merged) > limit
    return Page(page, page[-1].key if more and page else None)


def encode_cursor(key: TimelineKey) -> str:
    """The opaque cursor of a position: base64url JSON, no padding."""
    raw = json.dumps(
        {"v": _CURSOR_VERSION, "t": key.at.isoformat(), "s": key.source, "i": key.id},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> TimelineKey:
    """The position a cursor names; 400 ``INVALID_CURSOR`` for anything this module did not encode."""
    invalid = InvalidCursor(details={"cursor": cursor[:MAX_CURSOR_LENGTH]})
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
        raise invalid
    at, source, ident = data.get("t"), data.get("s"), data.get("i")
    if not isinstance(at, str) or not isinstance(source, str) or not isinstance(ident, str):
        raise invalid
    if source not in SOURCES:
        raise invalid
    try:
        instant = datetime.fromisoformat(at)
        canonical = str(uuid.UUID(ident))
    except ValueError:
        raise invalid from None
    if instant.tzinfo is None or canonical != ident:
        raise invalid
    return TimelineKey(instant, source, ident)
