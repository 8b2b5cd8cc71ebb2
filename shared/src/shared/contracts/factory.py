"""``factory.pack.v1``, ``factory.release-requested.v1`` (key: work order id), ``factory.generation-jobs.v1``."""

from __future__ import annotations

from typing import Any, ClassVar

from shared.contracts.base import Contract, Event
from shared.contracts.topics import FACTORY_GENERATION_JOBS, FACTORY_PACK, FACTORY_RELEASE_REQUESTED


class ArtifactRef(Contract):
    id: str
    kind: str
    filename: str
    mime_type: str
    size_bytes: int
    checksum_sha256: str
    storage_ref: str


class PackCreated(Event):
    """A report pack was created for a render of the work order."""

    TOPIC: ClassVar[str] = FACTORY_PACK
    TYPE: ClassVar[str] = "pack_created"

    work_order_id: str
    pack_id: str
    pack_version: int
    template_key: str
    report_family: str
    status: str
    job_id: str
    job_status: str
    export_bundle_hash: str
    snapshot_version: int
    artifacts: list[ArtifactRef] = []


class PackGenerated(Event):
    """A pack's artifacts were generated (each with its SHA-256)."""

    TOPIC: ClassVar[str] = FACTORY_PACK
    TYPE: ClassVar[str] = "pack_generated"

    work_order_id: str
    pack_id: str
    pack_version: int
    job_id: str
    attempts: int
    artifacts: list[ArtifactRef]


class PackFailed(Event):
    """Pack generation failed: code and reason."""

    TOPIC: ClassVar[str] = FACTORY_PACK
    TYPE: ClassVar[str] = "pack_failed"

    work_order_id: str
    pack_id: str | None = None
    job_id: str | None = None
    code: str
    reason: str
    attempts: int = 0


class ReleaseRecorded(Event):
    """A release of the work order's deliverables was recorded (the release row)."""

    TOPIC: ClassVar[str] = FACTORY_PACK
    TYPE: ClassVar[str] = "release_recorded"

    work_order_id: str
    release: dict[str, Any]


class ReleaseRequested(Event):
    """A release of the deliverables was requested; billing's gate answers it."""

    TOPIC: ClassVar[str] = FACTORY_RELEASE_REQUESTED
    TYPE: ClassVar[str] = "release_requested"

    release_id: str
    work_order_id: str
    idempotency_key: str
    override: bool
    override_reason: str | None = None
    pack_id: str
    job_status: str
    actor_user_id: str | None = None
    requested_at: str


class GenerationRequested(Event):
    """A pack generation job was queued (internal job queue of the factory service)."""

    TOPIC: ClassVar[str] = FACTORY_GENERATION_JOBS
    TYPE: ClassVar[str] = "generation_requested"

    job_id: str
    pack_id: str
    work_order_id: str
