"""Factory failures, named as facts. Every one carries a SCREAMING_SNAKE code and its HTTP status (style.md)."""

from __future__ import annotations

from shared.consistency import ProjectedNotFound
from shared.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound


class FactoryError(DomainError, code="FACTORY_ERROR", status=400):
    """Base of every expected factory failure."""


# ---------------------------------------------------------------------- rendering (worker only)
# These never reach an HTTP client: the generation worker records them as the job's and the pack's
# failure code. A docx artifact exists only for a key a template serves, and its name is built from
# that key, so the evidence ZIP of a generated pack cannot meet an unsafe entry name either.


class TemplateKeyUnknown(FactoryError, code="TEMPLATE_KEY_UNKNOWN", status=500):
    """No template file serves this key: a mapping bug, so it would be a 500."""


class ExportBundleInvalid(FactoryError, code="EXPORT_BUNDLE_INVALID", status=422):
    """The frozen export bundle lacks what rendering needs (e.g. ``work_order_id``)."""


class ZipEntryNameInvalid(FactoryError, code="ZIP_ENTRY_NAME_INVALID", status=500):
    """A reproducible ZIP was asked to hold an unsafe or duplicate entry name (a bug)."""


class PdfConverterUnavailable(
    FactoryError,
    code="PDF_CONVERTER_UNAVAILABLE",
    status=500,
    message="LibreOffice (soffice) is not installed: run `make tools` (scripts/bootstrap.py system)",
):
    """The machine has no LibreOffice to turn the report into PDF (a set-up fault, like a missing OCR
    engine)."""


class PdfConversionFailed(
    FactoryError, code="PDF_CONVERSION_FAILED", status=500, message="LibreOffice produced no PDF"
):
    """LibreOffice ran but produced no PDF for the report."""


# ------------------------------------------------------------------------------------- not found


class WorkOrderNotFound(ProjectedNotFound, FactoryError, code="WORK_ORDER_NOT_FOUND"):
    """The work order is unknown to the projection; 503 ``NOT_YET_CONSISTENT`` instead while the
    projection may not have it yet (issue 19)."""

    def __init__(self, work_order_id: object) -> None:
        super().__init__(f"repogen work order {work_order_id} not found", aggregate_id=work_order_id)


class ArtifactNotFound(NotFound, FactoryError, code="ARTIFACT_NOT_FOUND"):
    def __init__(self, artifact_id: object) -> None:
        super().__init__(f"artifact {artifact_id} not found")


class ReportPackNotFound(
    NotFound, FactoryError, code="REPORT_PACK_NOT_FOUND", message="report pack not found"
):
    pass


# ------------------------------------------------------------------------------------- forbidden


class FactoryOperatorRoleRequired(
    Forbidden, FactoryError, code="FACTORY_OPERATOR_ROLE_REQUIRED", message="factory operator role required"
):
    """domain.md §10.2 with architecture §6: a denial is 403 (the original answered 400)."""


class DeliverableLockedUntilBillingSatisfied(
    Forbidden,
    FactoryError,
    code="DELIVERABLE_LOCKED_UNTIL_BILLING_SATISFIED",
    message="deliverables are locked until billing is satisfied",
):
    """External audiences download only after a successful release (architecture §6)."""


# ------------------------------------------------------------------------------------ bad request


# The release body's own rules keep the shared BadRequest family (callers and tests catch it).
class IdempotencyKeyRequired(
    BadRequest,
    FactoryError,
    code="IDEMPOTENCY_KEY_REQUIRED",
    status=400,
    message="idempotency_key is required",
):
    pass


class OverrideReasonRequired(
    BadRequest,
    FactoryError,
    code="OVERRIDE_REASON_REQUIRED",
    status=400,
    message="override_reason is required when override is true",
):
    pass


class PackCreationRequiresReadyForRender(
    FactoryError,
    code="PACK_CREATION_REQUIRES_READY_FOR_RENDER",
    message="pack creation requires READY_FOR_RENDER",
):
    pass


class SnapshotRequiredForPackCreation(
    FactoryError,
    code="SNAPSHOT_REQUIRED_FOR_PACK_CREATION",
    message="a snapshot is required for pack creation",
):
    pass


class ReportPackNotLinked(
    FactoryError, code="REPORT_PACK_NOT_LINKED", message="no report pack is linked to this work order"
):
    pass


class PackGenerationNotCompleted(
    FactoryError, code="PACK_GENERATION_NOT_COMPLETED", message="report generation has not completed"
):
    pass


# -------------------------------------------------------------------------------------- conflict


class IdempotencyKeyAlreadyUsed(Conflict, FactoryError, code="IDEMPOTENCY_KEY_REUSED"):
    """A key already names another generation job or another work order's release."""


class ReleaseInProgress(
    Conflict,
    FactoryError,
    code="RELEASE_IN_PROGRESS",
    message="a release of this pack is awaiting billing's decision",
):
    pass


class ArtifactBlobMissing(
    Conflict,
    FactoryError,
    code="ARTIFACT_BLOB_MISSING",
    message="artifact bytes are missing from the blob store",
):
    pass


class ReleaseGateFailed(Conflict, FactoryError, code="RELEASE_GATE_ERROR"):
    """Billing answered ERROR for a release; the code is billing's (``RELEASE_GATE_ERROR`` without one)."""


class VerificationCodeNotFound(
    NotFound,
    FactoryError,
    code="VERIFICATION_CODE_NOT_FOUND",
    message="no report with this verification code",
):
    """No pack carries this code (or it is not a code at all): the same answer, so nothing can be
    learned by probing (issue 21)."""
