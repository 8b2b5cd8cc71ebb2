"""The generation worker on fakes: counted attempts, retries only of errors that can pass (issue 14)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Mapping
from typing import Any

import docx
import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy.exc import IntegrityError, OperationalError

from factory_service.domain.errors import ExportBundleInvalid
from factory_service.domain.verification import canonical_code, display_code
from factory_service.handlers.generation_job import RenderPack, is_transient
from factory_service.records import JobRecord
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import DOCX, TENANT


class Renders:
    """A renderer that raises the given errors in turn, then answers the DOCX; counts its calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.facts: dict[str, Any] = {}

    def __call__(self, bundle: Mapping[str, Any], **facts: Any) -> bytes:  # noqa: ARG002  Renderer signature
        self.calls += 1
        self.facts = facts
        if self.errors:
            raise self.errors.pop(0)
        return DOCX


@pytest.fixture
async def job(fakes: FactoryFakes, settings: Settings) -> JobRecord:
    """The queued job of a freshly built pack."""
    await given.render_ready(fakes, settings)
    (queued,) = fakes.jobs.rows.values()
    return queued


async def run(fakes: FactoryFakes, settings: Settings, job: JobRecord, render: Renders) -> Any:
    """One ``generation_requested`` delivery; returns the consumer's unit of work."""
    uow = fakes.uow()
    await given.worker(fakes, settings, render).render_pack(
        uow, RenderPack(uuid.UUID(job.id), str(TENANT), "req-7")
    )
    return uow


def audited(fakes: FactoryFakes, action: str) -> list[dict[str, Any]]:
    return [a.metadata_json for a in fakes.audit.rows if a.action == action]


async def test_a_render_completes_the_job_and_the_pack_and_publishes_pack_generated(
    fakes: FactoryFakes, settings: Settings, job: JobRecord
) -> None:
    uow = await run(fakes, settings, job, Renders())

    done = fakes.jobs.rows[job.id]
    assert (done.status, done.attempts, done.worker_trace, done.finished_at is not None) == (
        "completed",
        1,
        "req-7",
        True,
    )
    pack = fakes.packs.rows[job.report_pack_id]
    assert pack.status == "generated"
    assert pack.generated_at is not None
    artifacts = await fakes.packs.artifacts(uuid.UUID(pack.id))
    assert [a.kind for a in artifacts] == ["debug_json", "docx", "pdf", "qa_cover_sheet"]
    report = artifacts[1]
    digest = hashlib.sha256(DOCX).hexdigest()
    assert (report.filename, report.checksum_sha256, report.storage_ref) == (
        "SBI_UNDER_5CR_V1-v1.docx",
        digest,
        f"blob://sha256/{digest}",
    )
    assert fakes.blobs.get(digest) == DOCX
    assert audited(fakes, "generation_started") == [{"attempt": 1, "request_id": "req-7"}]
    assert audited(fakes, "generation_completed")[0]["docx_sha256"] == digest
    (generated,) = uow.events_of("pack_generated")
    assert (generated["pack_id"], generated["job_id"], generated["attempts"]) == (pack.id, job.id, 1)
    assert [a["kind"] for a in generated["artifacts"]] == ["debug_json", "docx", "pdf", "qa_cover_sheet"]
    assert uow.published[0].aggregate_version == 2  # pack_created was 1
    assert uow.commits == 0  # the consumer commits the final effect with its inbox row


async def test_the_report_carries_the_stamp_fixed_at_the_build_and_an_internal_cover_sheet(
    fakes: FactoryFakes, settings: Settings, job: JobRecord
) -> None:
    """Issue 21: the verification code and valuer fixed with the pack reach the renderer (so a re-render
    gives the same bytes); the QA data goes to a separate internal cover sheet."""
    render = Renders()
    await run(fakes, settings, job, render)

    pack = fakes.packs.rows[job.report_pack_id]
    stamp = render.facts["stamp"]
    assert pack.verification_code is not None
    assert canonical_code(pack.verification_code) == pack.verification_code
    assert stamp.verification_code == pack.verification_code
    assert stamp.verify_url == f"{settings.public_base_url}/v1/verify/{display_code(pack.verification_code)}"
    assert (stamp.valuer_name, stamp.valuer_registration_no) == (
        settings.valuer_name,
        settings.valuer_registration_no,
    )
    cover = (await fakes.packs.artifacts(uuid.UUID(pack.id)))[3]
    assert (cover.kind, cover.filename, cover.metadata_json["internal"]) == (
        "qa_cover_sheet",
        "SBI_UNDER_5CR_V1-v1-internal-qa.docx",
        True,
    )
    data = fakes.blobs.get(cover.blob_key)
    assert data is not None
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "INTERNAL QA COVER SHEET" in text
    assert "Completeness score" in text


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (KeyError("computed_values"), "RENDER_FAILED"),  # a bug: the same every time
        (ValueError("not a number"), "RENDER_FAILED"),
        (ExportBundleInvalid("the bundle names no work order"), "EXPORT_BUNDLE_INVALID"),
    ],
)
async def test_an_error_that_cannot_pass_fails_the_job_at_its_first_attempt(
    fakes: FactoryFakes, settings: Settings, job: JobRecord, error: Exception, code: str
) -> None:
    render = Renders(error, error)
    uow = await run(fakes, settings, job, render)

    assert render.calls == 1
    failed = fakes.jobs.rows[job.id]
    assert (failed.status, failed.attempts, failed.error_code) == ("failed", 1, code)
    pack = fakes.packs.rows[job.report_pack_id]
    assert (pack.status, pack.failure_code) == ("failed", code)
    assert audited(fakes, "generation_attempt_failed") == []
    assert audited(fakes, "generation_failed")[0]["attempts"] == 1
    (pack_failed,) = uow.events_of("pack_failed")
    assert (pack_failed["code"], pack_failed["attempts"], pack_failed["job_id"]) == (code, 1, job.id)


async def test_transient_errors_are_retried_and_every_attempt_is_counted(
    fakes: FactoryFakes, settings: Settings, job: JobRecord
) -> None:
    render = Renders(OSError("blob store unavailable"), TimeoutError())
    uow = await run(fakes, settings, job, render)

    assert render.calls == 3
    done = fakes.jobs.rows[job.id]
    assert (done.status, done.attempts, done.error_code) == ("completed", 3, None)
    assert [m["attempt"] for m in audited(fakes, "generation_attempt_failed")] == [1, 2]
    assert [m["attempt"] for m in audited(fakes, "generation_started")] == [1, 2, 3]
    assert uow.events_of("pack_generated")[0]["attempts"] == 3


async def test_a_transient_error_that_does_not_pass_fails_the_job_after_max_attempts(
    fakes: FactoryFakes, settings: Settings, job: JobRecord
) -> None:
    render = Renders(*[OSError("disk gone")] * 10)
    uow = await run(fakes, settings, job, render)

    assert render.calls == job.max_attempts == 5
    failed = fakes.jobs.rows[job.id]
    assert (failed.status, failed.attempts, failed.error_code) == ("failed", 5, "RENDER_FAILED")
    assert len(audited(fakes, "generation_attempt_failed")) == 4
    assert uow.events_of("pack_failed")[0]["attempts"] == 5


async def test_a_redelivery_resumes_from_the_stored_count_and_a_spent_job_fails_without_rendering(
    fakes: FactoryFakes, settings: Settings, job: JobRecord
) -> None:
    for _ in range(job.max_attempts):  # attempts counted by deliveries that crashed while rendering
        await fakes.jobs.start_attempt(uuid.UUID(job.id), None)
    render = Renders()
    uow = await run(fakes, settings, job, render)

    assert render.calls == 0
    assert fakes.jobs.rows[job.id].error_code == "GENERATION_ATTEMPTS_EXHAUSTED"
    assert uow.events_of("pack_failed")[0]["code"] == "GENERATION_ATTEMPTS_EXHAUSTED"


@pytest.mark.parametrize("state", ["completed", "failed", "cancelled", "superseded pack", "unknown job"])
async def test_a_job_that_is_finished_or_no_longer_wanted_is_not_rendered(
    fakes: FactoryFakes, settings: Settings, job: JobRecord, state: str
) -> None:
    if state == "superseded pack":
        await fakes.packs.set_status(uuid.UUID(job.report_pack_id), "superseded")
    elif state == "unknown job":
        job = job.model_copy(update={"id": str(uuid.UUID(int=1))})
    else:
        await fakes.jobs.set_status(uuid.UUID(job.id), state, finished=True)
    render = Renders()
    uow = await run(fakes, settings, job, render)

    assert render.calls == 0
    assert uow.published == []
    if state == "superseded pack":
        cancelled = fakes.jobs.rows[job.id]
        assert (cancelled.status, cancelled.error_code) == ("cancelled", "PACK_SUPERSEDED")


def _db_error(sqlstate: str) -> OperationalError:
    class DriverError(Exception):
        pass

    orig = DriverError()
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]  # what asyncpg's errors carry
    return OperationalError("UPDATE factory.report_generation_jobs", {}, orig)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OSError("I/O error"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (KafkaConnectionError(), True),
        (_db_error("40001"), True),  # serialization failure
        (_db_error("40P01"), True),  # deadlock
        (_db_error("08006"), True),  # connection failure
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (KeyError("x"), False),
        (ValueError("x"), False),
        (ExportBundleInvalid("x"), False),
    ],
)
def test_only_errors_that_can_pass_are_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
