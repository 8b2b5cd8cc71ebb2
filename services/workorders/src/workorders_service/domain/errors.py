"""Domain errors of the work-order service.

Each subclass is one failure, named as a fact, with a SCREAMING_SNAKE ``code``. The HTTP/Kafka edges turn
them into the normalized body ``{"code", "message", "details"}``; the domain never chooses a status code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class WorkOrderDomainError(Exception):
    """Base class: a rule of the work-order domain was violated."""

    code: ClassVar[str] = "WORK_ORDER_DOMAIN_ERROR"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The normalized error body ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ContractValidationError(WorkOrderDomainError):
    """A contract or contract patch failed the canonical schema.

    ``issues`` lists ``{"path": [...], "message": str}`` entries; ``path`` is the list of keys/indexes from
    the contract root to the offending value (like the original's validation issues).
    """

    code: ClassVar[str] = "CONTRACT_INVALID"

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        summary = "; ".join(
            f"{'.'.join(str(p) for p in i['path']) or '<root>'}: {i['message']}" for i in issues
        )
        super().__init__(f"contract validation failed: {summary}", details={"issues": issues})
        self.issues = issues


class InvalidStatusTransition(WorkOrderDomainError):
    """The requested status is not reachable from the current one (domain.md §1.3)."""

    code: ClassVar[str] = "INVALID_STATUS_TRANSITION"

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(
            f"invalid status transition {from_status} -> {to_status}",
            details={"from": from_status, "to": to_status},
        )


class ReopenNoteRequired(WorkOrderDomainError):
    """Reopening (READY_FOR_RENDER -> DATA_PENDING) needs a non-blank note (decision 29)."""

    code: ClassVar[str] = "REOPEN_NOTE_REQUIRED"

    def __init__(self) -> None:
        super().__init__(
            "reopening a work order (READY_FOR_RENDER -> DATA_PENDING) requires a note",
            details={"from": "READY_FOR_RENDER", "to": "DATA_PENDING"},
        )


class ReopenAfterReleaseForbidden(WorkOrderDomainError):
    """A work order with a successful deliverables release cannot be reopened (decision 29)."""

    code: ClassVar[str] = "REOPEN_AFTER_RELEASE_FORBIDDEN"

    def __init__(self) -> None:
        super().__init__(
            "work order has a successful deliverables release and cannot be reopened",
            details={"from": "READY_FOR_RENDER", "to": "DATA_PENDING"},
        )


class SnapshotRequiredForReadyForRender(WorkOrderDomainError):
    """READY_FOR_RENDER was requested before any contract snapshot exists (vector SPN-05)."""

    code: ClassVar[str] = "SNAPSHOT_REQUIRED_FOR_READY_FOR_RENDER"

    def __init__(self) -> None:
        super().__init__("READY_FOR_RENDER requires at least one computed contract snapshot")


class ReadinessBlocksReadyForRender(WorkOrderDomainError):
    """Readiness still has missing fields or evidence (domain.md §1.3 step 5); details carry the readiness."""

    code: ClassVar[str] = "REPOGEN_READINESS_BLOCK"

    def __init__(self, readiness: dict[str, Any]) -> None:
        super().__init__(
            "READY_FOR_RENDER blocked by missing fields/evidence", details={"readiness": readiness}
        )
        self.readiness = readiness
