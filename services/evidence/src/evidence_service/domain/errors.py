"""Every failure of the evidence service, each a :class:`~shared.errors.DomainError` named as a fact.

``code`` (SCREAMING_SNAKE) and ``status`` are class facts; :mod:`shared.http` renders them as
``{"code", "message", "details"}`` and the routes document them with :func:`shared.api.errors`.
"""

from __future__ import annotations

from shared.errors import DomainError


class EvidenceError(DomainError):
    """Base of every evidence-service failure."""

    code = "EVIDENCE_ERROR"
    status = 400


class WorkOrderNotFound(EvidenceError):
    """The work order is unknown to the projection (or belongs to another tenant)."""

    code = "WORK_ORDER_NOT_FOUND"
    status = 404

    def __init__(self, work_order_id: object) -> None:
        super().__init__(f"repogen work order {work_order_id} not found")


class WorkOrderLocked(EvidenceError):
    """Decision 29: from READY_FOR_RENDER on the evidence of a work order is frozen."""

    code = "WORK_ORDER_LOCKED"
    status = 409


class DocumentNotFound(EvidenceError):
    """No visible document has this id."""

    code = "DOCUMENT_NOT_FOUND"
    status = 404

    def __init__(self, document_id: object) -> None:
        super().__init__(f"document {document_id} not found")


class DocumentBytesMissing(EvidenceError):
    """The document's metadata exists but the blob store holds no bytes for it."""

    code = "DOCUMENT_BYTES_MISSING"
    status = 404


class DocumentTooLarge(EvidenceError):
    """The upload exceeds ``max_upload_bytes``."""

    code = "DOCUMENT_TOO_LARGE"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"document exceeds the upload limit of {limit} bytes", {"max_bytes": limit})


class UnsupportedDocumentType(EvidenceError):
    """The uploaded bytes are none of the accepted document types (sniffed, not declared)."""

    code = "UNSUPPORTED_DOCUMENT_TYPE"
    status = 415
    default_message = "unsupported document type: PDF, JPEG, PNG, WebP or HEIC are accepted"


class DocumentsNotFound(EvidenceError):
    """Evidence items reference documents the caller cannot see."""

    code = "DOCUMENTS_NOT_FOUND"
    status = 400


class EvidenceItemNotFound(EvidenceError):
    """An overwrite names an evidence item the work order does not have."""

    code = "EVIDENCE_ITEM_NOT_FOUND"
    status = 404


class EvidenceItemNotFoundForWorkOrder(EvidenceError):
    """The evidence item of an OCR request does not belong to the work order (§4.8)."""

    code = "EVIDENCE_ITEM_NOT_FOUND_FOR_WORK_ORDER"
    status = 400


class EvidenceItemsNotFoundForWorkOrder(EvidenceError):
    """Field links name evidence items the work order does not have (§4.7)."""

    code = "EVIDENCE_ITEMS_NOT_FOUND_FOR_WORK_ORDER"
    status = 400


class ProfileIdOrUseDefaultRequired(EvidenceError):
    """A profile selection names neither a profile nor the default."""

    code = "PROFILE_ID_OR_USE_DEFAULT_REQUIRED"
    status = 400
    default_message = "profile_id or use_default=true is required"


class EvidenceProfileNotResolved(EvidenceError):
    """No default evidence profile fits the work order (§4.4)."""

    code = "EVIDENCE_PROFILE_NOT_RESOLVED"
    status = 400


class InvalidEvidenceProfileForWorkOrder(EvidenceError):
    """The chosen profile belongs to another tenant or report type (§4.4)."""

    code = "INVALID_EVIDENCE_PROFILE_FOR_WORK_ORDER"
    status = 400


class SnapshotNotFoundForWorkOrder(EvidenceError):
    """A field link names a contract snapshot the work order never announced."""

    code = "SNAPSHOT_NOT_FOUND_FOR_WORK_ORDER"
    status = 400


class ContractSnapshotRequiredForFieldEvidenceLinks(EvidenceError):
    """Field links need a contract snapshot to be made on (decision 6)."""

    code = "CONTRACT_SNAPSHOT_REQUIRED_FOR_FIELD_EVIDENCE_LINKS"
    status = 400
    default_message = "a contract snapshot is required before field evidence links can be made"


class FieldEvidenceLinkNotFound(EvidenceError):
    """An update names a field-evidence link the work order does not have."""

    code = "FIELD_EVIDENCE_LINK_NOT_FOUND"
    status = 404


class FieldEvidenceLinkConflict(EvidenceError):
    """Another link already ties the field to the evidence item."""

    code = "FIELD_EVIDENCE_LINK_CONFLICT"
    status = 409


# The OCR failures end an OCR job as FAILED inside the consumer (decision 28); no route answers them,
# so their statuses only say what kind of failure they are.


class OcrFailure(EvidenceError):
    """Base of the failures an OCR run cannot recover from by retrying (the job ends FAILED)."""

    code = "OCR_FAILURE"
    status = 500


class OcrEngineUnavailable(OcrFailure):
    """The OCR engine is not installed or cannot start (decision 28)."""

    code = "OCR_ENGINE_UNAVAILABLE"
    status = 503


class OcrTimedOut(OcrFailure):
    """The OCR engine did not finish within its time limit."""

    code = "OCR_TIMEOUT"
    status = 504


class OcrDocumentUnreadable(OcrFailure):
    """The document bytes are corrupt or cannot be decoded by the engine for their type."""

    code = "OCR_DOCUMENT_UNREADABLE"
    status = 422
