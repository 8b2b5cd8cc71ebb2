"""Domain error base of the evidence service.

Every failure is one subclass named as a fact, carrying a SCREAMING_SNAKE ``code``, a human
``message`` and structured ``details``; the HTTP edge maps them to ``{"code", "message", "details"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class EvidenceDomainError(Exception):
    """Base of all evidence-service domain errors."""

    code: ClassVar[str] = "EVIDENCE_DOMAIN_ERROR"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The normalized error body (architecture §5)."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class EvidenceProfileNotResolved(EvidenceDomainError):
    """No default evidence profile fits the work order (§4.4)."""

    code = "EVIDENCE_PROFILE_NOT_RESOLVED"


class InvalidEvidenceProfileForWorkOrder(EvidenceDomainError):
    """The chosen profile belongs to another org or report type (§4.4)."""

    code = "INVALID_EVIDENCE_PROFILE_FOR_WORK_ORDER"


class EvidenceItemNotFoundForWorkOrder(EvidenceDomainError):
    """The evidence item does not belong to the work order (§4.8)."""

    code = "EVIDENCE_ITEM_NOT_FOUND_FOR_WORK_ORDER"


class OcrEngineUnavailable(EvidenceDomainError):
    """The OCR engine is not installed or cannot start (decision 28)."""

    code = "OCR_ENGINE_UNAVAILABLE"


class OcrTimedOut(EvidenceDomainError):
    """The OCR engine did not finish within its time limit."""

    code = "OCR_TIMEOUT"


class OcrDocumentUnreadable(EvidenceDomainError):
    """The document bytes are corrupt or cannot be decoded by the engine for their type."""

    code = "OCR_DOCUMENT_UNREADABLE"
