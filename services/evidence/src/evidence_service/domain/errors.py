"""Every failure of the evidence service, each a :class:`~shared.errors.DomainError` named as a fact.

``code`` (SCREAMING_SNAKE) and ``status`` are class facts; :mod:`shared.http` renders them as
``{"code", "message", "details"}`` and the routes document them with :func:`shared.api.errors`.
"""

from __future__ import annotations

from shared.consistency import ProjectedNotFound
from shared.errors import DomainError


class EvidenceError(DomainError, code="EVIDENCE_ERROR", status=400):
    """Base of every evidence-service failure."""


class WorkOrderNotFound(ProjectedNotFound, EvidenceError, code="WORK_ORDER_NOT_FOUND", status=404):
    """The work order is unknown to the projection (or belongs to another tenant); 503
    ``NOT_YET_CONSISTENT`` instead while the projection may not have it yet (issue 19)."""

    def __init__(self, work_order_id: object) -> None:
        super().__init__(f"repogen work order {work_order_id} not found", aggregate_id=work_order_id)


class WorkOrderLocked(EvidenceError, code="WORK_ORDER_LOCKED", status=409):
    """Decision 29: from READY_FOR_RENDER on the evidence of a work order is frozen."""


class DocumentNotFound(EvidenceError, code="DOCUMENT_NOT_FOUND", status=404):
    """No visible document has this id."""

    def __init__(self, document_id: object) -> None:
        super().__init__(f"document {document_id} not found")


class DocumentBytesMissing(EvidenceError, code="DOCUMENT_BYTES_MISSING", status=404):
    """The document's metadata exists but the blob store holds no bytes for it."""


class DocumentTooLarge(EvidenceError, code="DOCUMENT_TOO_LARGE", status=413):
    """The upload exceeds ``max_upload_bytes``."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"document exceeds the upload limit of {limit} bytes", {"max_bytes": limit})


class UnsupportedDocumentType(
    EvidenceError,
    code="UNSUPPORTED_DOCUMENT_TYPE",
    status=415,
    message="unsupported document type: PDF, JPEG, PNG, WebP or HEIC are accepted",
):
    """The uploaded bytes are none of the accepted document types (sniffed, not declared)."""


class DocumentsNotFound(EvidenceError, code="DOCUMENTS_NOT_FOUND", status=400):
    """Evidence items reference documents the caller cannot see."""


class EvidenceItemNotFound(EvidenceError, code="EVIDENCE_ITEM_NOT_FOUND", status=404):
    """An overwrite names an evidence item the work order does not have."""


class EvidenceItemNotFoundForWorkOrder(
    EvidenceError, code="EVIDENCE_ITEM_NOT_FOUND_FOR_WORK_ORDER", status=400
):
    """The evidence item of an OCR request does not belong to the work order (§4.8)."""


class EvidenceItemsNotFoundForWorkOrder(
    EvidenceError, code="EVIDENCE_ITEMS_NOT_FOUND_FOR_WORK_ORDER", status=400
):
    """Field links name evidence items the work order does not have (§4.7)."""


class ProfileIdOrUseDefaultRequired(
    EvidenceError,
    code="PROFILE_ID_OR_USE_DEFAULT_REQUIRED",
    status=400,
    message="profile_id or use_default=true is required",
):
    """A profile selection names neither a profile nor the default."""


class EvidenceProfileNotResolved(EvidenceError, code="EVIDENCE_PROFILE_NOT_RESOLVED", status=400):
    """No default evidence profile fits the work order (§4.4)."""


class InvalidEvidenceProfileForWorkOrder(
    EvidenceError, code="INVALID_EVIDENCE_PROFILE_FOR_WORK_ORDER", status=400
):
    """The chosen profile belongs to another tenant or report type (§4.4)."""


class SnapshotNotFoundForWorkOrder(EvidenceError, code="SNAPSHOT_NOT_FOUND_FOR_WORK_ORDER", status=400):
    """A field link names a contract snapshot the work order never announced."""


class ContractSnapshotRequiredForFieldEvidenceLinks(
    EvidenceError,
    code="CONTRACT_SNAPSHOT_REQUIRED_FOR_FIELD_EVIDENCE_LINKS",
    status=400,
    message="a contract snapshot is required before field evidence links can be made",
):
    """Field links need a contract snapshot to be made on (decision 6)."""


class FieldEvidenceLinkNotFound(EvidenceError, code="FIELD_EVIDENCE_LINK_NOT_FOUND", status=404):
    """An update names a field-evidence link the work order does not have."""


class FieldEvidenceLinkConflict(EvidenceError, code="FIELD_EVIDENCE_LINK_CONFLICT", status=409):
    """Another link already ties the field to the evidence item."""


# The OCR failures end an OCR job as FAILED inside the consumer (decision 28); no route answers them,
# so their statuses only say what kind of failure they are.


class OcrFailure(EvidenceError, code="OCR_FAILURE", status=500):
    """Base of the failures an OCR run cannot recover from by retrying (the job ends FAILED)."""


class OcrEngineUnavailable(OcrFailure, code="OCR_ENGINE_UNAVAILABLE", status=503):
    """The OCR engine is not installed or cannot start (decision 28)."""


class OcrTimedOut(OcrFailure, code="OCR_TIMEOUT", status=504):
    """The OCR engine did not finish within its time limit."""


class OcrDocumentUnreadable(OcrFailure, code="OCR_DOCUMENT_UNREADABLE", status=422):
    """The document bytes are corrupt or cannot be decoded by the engine for their type."""
