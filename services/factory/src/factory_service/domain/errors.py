"""Factory failures, named as facts. Every one carries a SCREAMING_SNAKE code and its HTTP status (style.md)."""

from __future__ import annotations

from shared.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound


class FactoryError(DomainError):
    """Base of every expected factory failure."""

    status = 400
    code = "FACTORY_ERROR"


# ---------------------------------------------------------------------- rendering (worker only)
# These never reach an HTTP client: the generation worker records them as the job's and the pack's
# failure code. A docx artifact exists only for a key a template serves, and its name is built from
# that key, so the evidence ZIP of a generated pack cannot meet an unsafe entry name either.


class TemplateKeyUnknown(FactoryError):
    """No template file serves this key: a mapping bug, so it would be a 500."""

    status = 500
    code = "TEMPLATE_KEY_UNKNOWN"


class ExportBundleInvalid(FactoryError):
    """The frozen export bundle lacks what rendering needs (e.g. ``work_order_id``)."""

    status = 422
    code = "EXPORT_BUNDLE_INVALID"


class ZipEntryNameInvalid(FactoryError):
    """A reproducible ZIP was asked to hold an unsafe or duplicate entry name (a bug)."""

    status = 500
    code = "ZIP_ENTRY_NAME_INVALID"


# ------------------------------------------------------------------------------------- not found


class WorkOrderNotFound(NotFound, FactoryError):
    code = "WORK_ORDER_NOT_FOUND"

    def __init__(self, work_order_id: object) -> None:
        super().__init__(f"repogen work order {work_order_id} not found")


class ArtifactNotFound(NotFound, FactoryError):
    code = "ARTIFACT_NOT_FOUND"

    def __init__(self, artifact_id: object) -> None:
        super().__init__(f"artifact {artifact_id} not found")


class ReportPackNotFound(NotFound, FactoryError):
    code = "REPORT_PACK_NOT_FOUND"
    default_message = "report pack not found"


# ------------------------------------------------------------------------------------- forbidden


class FactoryOperatorRoleRequired(Forbidden, FactoryError):
    """domain.md §10.2 with architecture §6: a denial is 403 (the original answered 400)."""

    code = "FACTORY_OPERATOR_ROLE_REQUIRED"
    default_message = "factory operator role required"


class DeliverableLockedUntilBillingSatisfied(Forbidden, FactoryError):
    """External audiences download only after a successful release (architecture §6)."""

    code = "DELIVERABLE_LOCKED_UNTIL_BILLING_SATISFIED"
    default_message = "deliverables are locked until billing is satisfied"


# ------------------------------------------------------------------------------------ bad request


# The release body's own rules keep the shared BadRequest family (callers and tests catch it).
class IdempotencyKeyRequired(BadRequest, FactoryError):
    status = 400
    code = "IDEMPOTENCY_KEY_REQUIRED"
    default_message = "idempotency_key is required"


class OverrideReasonRequired(BadRequest, FactoryError):
    status = 400
    code = "OVERRIDE_REASON_REQUIRED"
    default_message = "override_reason is required when override is true"


class PackCreationRequiresReadyForRender(FactoryError):
    code = "PACK_CREATION_REQUIRES_READY_FOR_RENDER"
    default_message = "pack creation requires READY_FOR_RENDER"


class SnapshotRequiredForPackCreation(FactoryError):
    code = "SNAPSHOT_REQUIRED_FOR_PACK_CREATION"
    default_message = "a snapshot is required for pack creation"


class ReportPackNotLinked(FactoryError):
    code = "REPORT_PACK_NOT_LINKED"
    default_message = "no report pack is linked to this work order"


class PackGenerationNotCompleted(FactoryError):
    code = "PACK_GENERATION_NOT_COMPLETED"
    default_message = "report generation has not completed"


# -------------------------------------------------------------------------------------- conflict


class IdempotencyKeyAlreadyUsed(Conflict, FactoryError):
    """A key already names another generation job or another work order's release."""

    code = "IDEMPOTENCY_KEY_REUSED"


class ReleaseInProgress(Conflict, FactoryError):
    code = "RELEASE_IN_PROGRESS"
    default_message = "a release of this pack is awaiting billing's decision"


class ArtifactBlobMissing(Conflict, FactoryError):
    code = "ARTIFACT_BLOB_MISSING"
    default_message = "artifact bytes are missing from the blob store"


class ReleaseGateFailed(Conflict, FactoryError):
    """Billing answered ERROR for a release; the code is billing's (``RELEASE_GATE_ERROR`` without one)."""

    code = "RELEASE_GATE_ERROR"
