"""``factory.pack.v1``, ``factory.release-requested.v1`` (key: work order id), ``factory.generation-jobs.v1``."""

from __future__ import annotations

from typing import Any

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


class PackCreated(Event, topic=FACTORY_PACK, type="pack_created"):
    """A report pack was created for a render of the work order."""

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


class PackGenerated(Event, topic=FACTORY_PACK, type="pack_generated"):
    """A pack's artifacts were generated (each with its SHA-256)."""

    work_order_id: str
    pack_id: str
    pack_version: int
    job_id: str
    attempts: int
    artifacts: list[ArtifactRef]


class PackFailed(Event, topic=FACTORY_PACK, type="pack_failed"):
    """Pack generation failed: code and reason."""

    work_order_id: str
    pack_id: str | None = None
    job_id: str | None = None
    code: str
    reason: str
    attempts: int = 0


class ReleaseRecorded(Event, topic=FACTORY_PACK, type="release_recorded"):
    """A release of the work order's deliverables was recorded (the release row)."""

    work_order_id: str
    release: dict[str, Any]


class ReleaseRequested(Event, topic=FACTORY_RELEASE_REQUESTED, type="release_requested"):
    """A release of the deliverables was requested; billing's gate answers it."""

    release_id: str
    work_order_id: str
    idempotency_key: str
    override: bool
    override_reason: str | None = None
    pack_id: str
    job_status: str
    actor_user_id: str | None = None
    requested_at: str


class GenerationRequested(Event, topic=FACTORY_GENERATION_JOBS, type="generation_requested"):
    """A pack generation job was queued (internal job queue of the factory service)."""

    job_id: str
    pack_id: str
    work_order_id: str
