"""The states the handler tests start from, built through the handlers themselves over the fakes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from devstack.testing import data
from devstack.testing.fakes import FakeUnitOfWork
from factory_service.domain.release import ReleaseRequest
from factory_service.handlers.gate_outcome import RecordGateOutcome, record_gate_outcome
from factory_service.handlers.generation_job import GenerationWorker, Renderer, RenderPack
from factory_service.handlers.projections import RenderReadyWorkOrder, render_ready_work_order
from factory_service.handlers.release_request import RequestRelease, request_release
from factory_service.records import PackRecord, ReleaseRecord
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from shared.contracts.billing import GateDecided
from shared.contracts.workorders import ReadyForRender
from shared.stable_json import stable_sha256

TENANT: Final = uuid.UUID(data.TEST_TENANT)
ACTOR: Final = uuid.UUID(data.TEST_USER)
WORK_ORDER: Final = uuid.UUID(data.HASH_01_WORK_ORDER_ID)
"""The work order the HASH-01 bundle names."""

DOCX: Final = b"PK fake docx"
PDF: Final = b"%PDF fake"


def ready_for_render(bundle: Mapping[str, Any] | None = None, **fields: Any) -> ReadyForRender:
    """workorders' ``ready_for_render`` of the HASH-01 bundle (an SBI < 5 Cr valuation)."""
    bundle = dict(bundle) if bundle is not None else data.hash01_bundle()
    event: dict[str, Any] = {
        "work_order_id": str(WORK_ORDER),
        "export_bundle": bundle,
        "export_bundle_hash": stable_sha256(bundle),
        "snapshot_version": 2,
        "template_selector": "SBI_FORMAT_A",
        "value_slab": "LT_5CR",
        "report_type": "VALUATION",
        "bank_type": "SBI",
        "actor_user_id": str(ACTOR),
        "readiness_score": 100,
    }
    return ReadyForRender.model_validate({**event, **fields})


async def render_ready(
    fakes: FactoryFakes,
    settings: Settings,
    event: ReadyForRender | None = None,
    *,
    source_version: int = 5,
    uow: FakeUnitOfWork | None = None,
) -> None:
    """The bridge: the work order becomes READY_FOR_RENDER and its pack is built (in ``uow`` when given,
    so the test reads what it published)."""
    command = RenderReadyWorkOrder(event or ready_for_render(), str(TENANT), source_version)
    await render_ready_work_order(uow or fakes.uow(), command, settings=settings, blobs=fakes.blobs)


def worker(fakes: FactoryFakes, settings: Settings, render: Renderer | None = None) -> GenerationWorker:
    """The generation worker over the fakes; ``render`` stands for the DOCX renderer (a fixed DOCX), a
    fixed PDF for LibreOffice (the real conversion: tests/unit/test_report_pdf.py)."""

    def fixed_docx(bundle: Mapping[str, Any], **_facts: Any) -> bytes:  # noqa: ARG001  Renderer signature
        return DOCX

    def fixed_pdf(docx: bytes, bundle: Mapping[str, Any], template_key: str) -> bytes:  # noqa: ARG001  PdfConverter signature
        return PDF

    return GenerationWorker(fakes.uow, fakes.blobs, settings, render=render or fixed_docx, to_pdf=fixed_pdf)


Arrange = Callable[[FactoryFakes, Settings], Awaitable[object]]
"""A state to start from, built through the handlers (the arrange step of a parametrized test)."""


async def nothing(fakes: FactoryFakes, settings: Settings) -> None:
    """The factory has heard nothing of the work order."""


async def projected_only(fakes: FactoryFakes, settings: Settings) -> None:  # noqa: ARG001  Arrange signature
    """The work order is projected as READY_FOR_RENDER but no pack was built."""
    await fakes.work_orders.upsert(str(WORK_ORDER), str(TENANT), {"status": "READY_FOR_RENDER"}, 1)


async def generated_pack(fakes: FactoryFakes, settings: Settings) -> PackRecord:
    """A work order whose live pack was built and rendered: the state a release needs."""
    await render_ready(fakes, settings)
    (job,) = fakes.jobs.rows.values()
    await worker(fakes, settings).render_pack(
        fakes.uow(), RenderPack(uuid.UUID(job.id), str(TENANT), "req-1")
    )
    pack = await fakes.packs.live(WORK_ORDER)
    if pack is None or pack.status != "generated":
        raise RuntimeError(f"the pack was not generated: {pack}")
    return pack


def release_request(key: str = "release-1", *, work_order_id: uuid.UUID = WORK_ORDER) -> RequestRelease:
    """An operator's release request without override."""
    return RequestRelease(TENANT, work_order_id, ACTOR, ReleaseRequest(key, False, None))


def gate_decided(release_id: str, result: str = "CREDIT_CONSUMED", **fields: Any) -> GateDecided:
    """billing's decision on a release."""
    decision: dict[str, Any] = {
        "decision_id": "decision-1",
        "release_id": release_id,
        "work_order_id": str(WORK_ORDER),
        "idempotency_key": "release-1",
        "mode": "CREDIT",
        "result": result,
        "ledger_entry_ids": ["ledger-1"],
        "decision_hash": "hash-1",
    }
    return GateDecided.model_validate({**decision, **fields})


async def released(fakes: FactoryFakes, settings: Settings, result: str = "CREDIT_CONSUMED") -> ReleaseRecord:
    """A generated pack released once with billing's ``result``."""
    await generated_pack(fakes, settings)
    started = await request_release(fakes.uow(str(TENANT)), release_request())
    await record_gate_outcome(fakes.uow(), RecordGateOutcome(gate_decided(started.release_id, result)))
    return fakes.releases.rows[started.release_id]
