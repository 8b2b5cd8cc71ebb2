"""Failures of the work-order service, each one a fact with its ``code`` and HTTP ``status``.

Every class subclasses :class:`shared.errors.DomainError` through :class:`WorkOrderError`; the HTTP edge
(:mod:`shared.http`) renders any of them as ``{"code", "message", "details"}`` with its ``status`` and the
routes document them with :func:`shared.api.errors`, so there is no status map anywhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from shared.errors import DomainError

__all__ = [
    "AcceptanceNotSettled",
    "AcceptanceRejected",
    "AcceptanceRejectedByBilling",
    "ContractValidationError",
    "InvalidContractPatch",
    "InvalidStatusTransition",
    "PortalSourceTypeForbidden",
    "ReadinessBlocksReadyForRender",
    "ReopenAfterReleaseForbidden",
    "ReopenNoteRequired",
    "SnapshotContractInvalid",
    "SnapshotNotFound",
    "SnapshotRequiredForReadyForRender",
    "WorkOrderError",
    "WorkOrderLocked",
    "WorkOrderNotFound",
]

#: one issue of a contract validation: the keys/indexes from the contract root and what is wrong there
Issue = Mapping[str, Any]


class WorkOrderError(DomainError, code="WORK_ORDER_DOMAIN_ERROR", status=400):
    """Base class: a rule of the work-order service was violated."""


class WorkOrderNotFound(WorkOrderError, code="WORK_ORDER_NOT_FOUND", status=404):
    """The work order does not exist, or the caller's audience may not see it (message as domain.md §9.1)."""

    def __init__(self, work_order_id: uuid.UUID | str) -> None:
        super().__init__(f"repogen work order {work_order_id} not found")


class SnapshotNotFound(WorkOrderError, code="SNAPSHOT_NOT_FOUND", status=404):
    """The export asked for a snapshot the work order does not have (or it has none yet)."""

    def __init__(self, snapshot_version: int | None = None) -> None:
        if snapshot_version is None:
            super().__init__("repogen snapshot not found for work order")
        else:
            super().__init__(
                f"repogen snapshot v{snapshot_version} not found",
                details={"snapshot_version": snapshot_version},
            )


class PortalSourceTypeForbidden(WorkOrderError, code="PORTAL_SOURCE_TYPE_FORBIDDEN", status=403):
    """The portal audience creates CHANNEL work orders only (decision "Hardening (issue 12): audience")."""

    def __init__(self, source_type: str) -> None:
        super().__init__(
            "the portal audience may only create CHANNEL work orders",
            details={"source_type": source_type, "allowed": ["CHANNEL"]},
        )


class ContractValidationError(WorkOrderError, code="CONTRACT_INVALID", status=400):
    """A contract or contract patch failed the canonical schema.

    ``issues`` lists ``{"path": [...], "message": str}`` entries; ``path`` is the list of keys/indexes from
    the contract root to the offending value (like the original's validation issues).
    """

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: list[dict[str, Any]] = [dict(issue) for issue in issues]
        summary = "; ".join(
            f"{'.'.join(str(p) for p in i['path']) or '<root>'}: {i['message']}" for i in self.issues
        )
        super().__init__(f"contract validation failed: {summary}", details={"issues": self.issues})


class InvalidContractPatch(
    WorkOrderError, code="INVALID_CONTRACT_PATCH", status=400, message="request body must be JSON"
):
    """The contract patch of a request is not JSON or fails the schema: each issue carries its dotted
    ``path`` and the raw ``loc``."""

    @classmethod
    def of(cls, error: ContractValidationError) -> InvalidContractPatch:
        """The patch request's failure for the issues the contract schema found."""
        issues = [
            {
                "path": ".".join(str(p) for p in issue["path"]),
                "loc": list(issue["path"]),
                "message": issue["message"],
            }
            for issue in error.issues
        ]
        return cls(error.message, details={"issues": issues})


class WorkOrderLocked(WorkOrderError, code="WORK_ORDER_LOCKED", status=409):
    """From READY_FOR_RENDER on the contract is frozen (decision 29)."""

    def __init__(self, status: str) -> None:
        super().__init__(
            f"work order is {status}: contract and evidence are locked", details={"status": status}
        )


class SnapshotContractInvalid(WorkOrderError, code="SNAPSHOT_CONTRACT_INVALID", status=409):
    """A stored snapshot's contract no longer validates, so no export bundle can be built from it."""

    def __init__(self, snapshot_id: uuid.UUID | str, issues: Sequence[Issue]) -> None:
        super().__init__(
            f"snapshot {snapshot_id} has invalid contract_json", details={"issues": [dict(i) for i in issues]}
        )


class InvalidStatusTransition(WorkOrderError, code="INVALID_STATUS_TRANSITION", status=400):
    """The requested status is not reachable from the current one (domain.md §1.3)."""

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(
            f"invalid status transition {from_status} -> {to_status}",
            details={"from": from_status, "to": to_status},
        )


class ReopenNoteRequired(WorkOrderError, code="REOPEN_NOTE_REQUIRED", status=400):
    """Reopening (READY_FOR_RENDER -> DATA_PENDING) needs a non-blank note (decision 29)."""

    def __init__(self) -> None:
        super().__init__(
            "reopening a work order (READY_FOR_RENDER -> DATA_PENDING) requires a note",
            details={"from": "READY_FOR_RENDER", "to": "DATA_PENDING"},
        )


class ReopenAfterReleaseForbidden(WorkOrderError, code="REOPEN_AFTER_RELEASE_FORBIDDEN", status=409):
    """A work order with a successful deliverables release cannot be reopened (decision 29)."""

    def __init__(self) -> None:
        super().__init__(
            "work order has a successful deliverables release and cannot be reopened",
            details={"from": "READY_FOR_RENDER", "to": "DATA_PENDING"},
        )


class SnapshotRequiredForReadyForRender(
    WorkOrderError,
    code="SNAPSHOT_REQUIRED_FOR_READY_FOR_RENDER",
    status=400,
    message="READY_FOR_RENDER requires at least one computed contract snapshot",
):
    """READY_FOR_RENDER was requested before any contract snapshot exists (vector SPN-05)."""


class ReadinessBlocksReadyForRender(WorkOrderError, code="REPOGEN_READINESS_BLOCK", status=400):
    """Readiness still has missing fields or evidence (domain.md §1.3 step 5); details carry the readiness."""

    def __init__(self, readiness: Mapping[str, Any]) -> None:
        self.readiness = dict(readiness)
        super().__init__(
            "READY_FOR_RENDER blocked by missing fields/evidence", details={"readiness": self.readiness}
        )


class _AcceptanceMissing(WorkOrderError, status=409):
    def __init__(self, acceptance_status: str | None, acceptance_code: str | None) -> None:
        super().__init__(
            f"READY_FOR_RENDER requires billing acceptance ACCEPTED (is {acceptance_status})",
            details={"acceptance_status": acceptance_status, "acceptance_code": acceptance_code},
        )


class AcceptanceRejected(_AcceptanceMissing, code="ACCEPTANCE_REJECTED"):
    """READY_FOR_RENDER was requested after billing rejected the acceptance."""


class AcceptanceNotSettled(_AcceptanceMissing, code="ACCEPTANCE_NOT_SETTLED"):
    """READY_FOR_RENDER was requested before billing accepted the work order."""


class AcceptanceRejectedByBilling(WorkOrderError, code="ACCEPTANCE_REJECTED", status=409):
    """The acceptance saga a status change started was rejected by billing and the change reverted;
    the code is billing's own refusal code (``ACCEPTANCE_REJECTED`` when it gave none)."""
