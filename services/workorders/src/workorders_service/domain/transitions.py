"""Work-order status machine (domain.md §1.3) with the reopen transition of architecture.md §9 decision 29."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from workorders_service.domain.errors import (
    InvalidStatusTransition,
    ReadinessBlocksReadyForRender,
    ReopenAfterReleaseForbidden,
    ReopenNoteRequired,
    SnapshotRequiredForReadyForRender,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "STATUSES",
    "TERMINAL_STATUSES",
    "check_ready_for_render",
    "check_transition",
    "is_noop",
    "is_reopen",
    "status_change_comment",
]

STATUSES: Final = ("DRAFT", "EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER", "CANCELLED", "CLOSED")
TERMINAL_STATUSES: Final = frozenset({"CANCELLED", "CLOSED"})

ALLOWED_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "DRAFT": frozenset({"EVIDENCE_PENDING", "DATA_PENDING", "CANCELLED"}),
    "EVIDENCE_PENDING": frozenset({"DATA_PENDING", "CANCELLED"}),
    "DATA_PENDING": frozenset({"READY_FOR_RENDER", "CANCELLED", "CLOSED"}),
    # DATA_PENDING here is the reopen of decision 29, guarded by check_transition.
    "READY_FOR_RENDER": frozenset({"CLOSED", "CANCELLED", "DATA_PENDING"}),
    "CANCELLED": frozenset(),
    "CLOSED": frozenset(),
}


def is_noop(from_status: str, to_status: str) -> bool:
    """Requesting the current status changes nothing: no comment, no hooks (domain.md §1.3 step 2)."""
    return from_status == to_status


def is_reopen(from_status: str, to_status: str) -> bool:
    """The operator reopen of decision 29: READY_FOR_RENDER → DATA_PENDING."""
    return from_status == "READY_FOR_RENDER" and to_status == "DATA_PENDING"


def check_transition(
    from_status: str, to_status: str, *, note: str | None = None, has_successful_release: bool = False
) -> None:
    """Raise unless ``from_status`` → ``to_status`` is allowed; the same status is an allowed no-op.

    Raises ``InvalidStatusTransition`` (``INVALID_STATUS_TRANSITION``, message
    ``invalid status transition <FROM> -> <TO>``) for pairs outside the table. For a reopen, a prior
    successful release is checked first (``REOPEN_AFTER_RELEASE_FORBIDDEN``: no note can lift it), then the
    note (``REOPEN_NOTE_REQUIRED`` when missing or blank).
    """
    if is_noop(from_status, to_status):
        return
    if to_status not in ALLOWED_TRANSITIONS.get(from_status, frozenset()):
        raise InvalidStatusTransition(from_status, to_status)
    if is_reopen(from_status, to_status):
        if has_successful_release:
            raise ReopenAfterReleaseForbidden()
        if note is None or not note.strip():
            raise ReopenNoteRequired()


def check_ready_for_render(readiness: Mapping[str, Any] | None) -> None:
    """Gate of a READY_FOR_RENDER request (domain.md §1.3 step 5, §3.5).

    ``readiness`` is the current readiness, or ``None`` when the work order has no contract snapshot.
    Only missing fields or evidence block; the score, warnings and missing field links never do.
    """
    if readiness is None:
        raise SnapshotRequiredForReadyForRender()
    if readiness.get("missing_fields") or readiness.get("missing_evidence"):
        raise ReadinessBlocksReadyForRender(dict(readiness))


def status_change_comment(from_status: str, to_status: str, note: str | None = None) -> str:
    """Body of the system NOTES comment for a status change (vector SPN-04)."""
    body = f"Status changed: {from_status} -> {to_status}"
    return f"{body}\n{note}" if note else body
