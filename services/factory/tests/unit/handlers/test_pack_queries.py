"""The pack link view, the release list and the projection versions on fakes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

import pytest

from factory_service.domain.errors import WorkOrderNotFound
from factory_service.handlers import pack_queries
from factory_service.handlers.projections import ProjectBilling, project_billing
from factory_service.handlers.release_request import request_release
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import TENANT, WORK_ORDER
from shared.db.uow import UnitOfWork

UNKNOWN = uuid.UUID(int=3)


async def test_the_pack_link_shows_the_live_pack_its_artifacts_job_releases_and_billing(
    fakes: FactoryFakes, settings: Settings
) -> None:
    release = await given.released(fakes, settings)
    await project_billing(fakes.uow(), ProjectBilling(str(WORK_ORDER), str(TENANT), {"mode": "CREDIT"}, 8))
    link = await pack_queries.get_pack_link(fakes.uow(str(TENANT)), pack_queries.GetPackLink(WORK_ORDER))

    assert link.work_order == fakes.work_orders.rows[str(WORK_ORDER)]
    assert link.pack is not None
    assert link.pack.status == "generated"
    assert [a.kind for a in link.artifacts] == ["debug_json", "docx", "pdf", "qa_cover_sheet"]
    assert link.job is not None
    assert link.job.status == "completed"
    assert link.releases == [fakes.releases.rows[release.id]]
    assert link.billing is not None
    assert link.billing.source_version == 8
    assert link.pack_state_version == 4  # created, generated, release requested, release recorded


async def test_after_a_reopen_the_pack_link_shows_the_newest_superseded_pack(
    fakes: FactoryFakes, settings: Settings
) -> None:
    await given.render_ready(fakes, settings)
    await given.render_ready(fakes, settings, given.ready_for_render(render_generation=2), source_version=9)
    newest = await fakes.packs.live(WORK_ORDER)
    assert newest is not None
    await fakes.packs.set_status(uuid.UUID(newest.id), "superseded")
    link = await pack_queries.get_pack_link(fakes.uow(str(TENANT)), pack_queries.GetPackLink(WORK_ORDER))
    assert link.pack is not None
    assert (link.pack.id, link.pack.render_generation) == (newest.id, 2)
    assert link.job is not None
    assert link.job.report_pack_id == newest.id


async def test_releases_are_listed_newest_first(fakes: FactoryFakes, settings: Settings) -> None:
    first = await given.released(fakes, settings, "PAID")
    linked = await request_release(fakes.uow(str(TENANT)), given.release_request("release-2"))
    listed = await pack_queries.list_releases(fakes.uow(str(TENANT)), pack_queries.ListReleases(WORK_ORDER))
    assert [r.id for r in listed] == [linked.recorded_release_id, first.id]
    assert await pack_queries.get_release(fakes.uow(), uuid.UUID(first.id)) == fakes.releases.rows[first.id]
    assert await pack_queries.get_release(fakes.uow(), UNKNOWN) is None


@pytest.mark.parametrize(
    "read",
    [
        lambda uow: pack_queries.get_pack_link(uow, pack_queries.GetPackLink(UNKNOWN)),
        lambda uow: pack_queries.list_releases(uow, pack_queries.ListReleases(UNKNOWN)),
    ],
    ids=["pack link", "releases"],
)
async def test_an_unknown_work_order_is_not_found(
    fakes: FactoryFakes, read: Callable[[UnitOfWork], Awaitable[object]]
) -> None:
    with pytest.raises(WorkOrderNotFound):
        await read(fakes.uow(str(TENANT)))


@pytest.mark.parametrize(
    ("projection", "aggregate_id", "version"),
    [
        ("work-order", str(WORK_ORDER), 5),
        ("work-order-billing", str(WORK_ORDER), 8),
        ("pack", str(WORK_ORDER), 2),
        ("pack", str(UNKNOWN), None),
        ("work-order", "not-a-uuid", None),
    ],
)
async def test_projection_versions_answer_the_version_held_or_none(
    fakes: FactoryFakes,
    settings: Settings,
    projection: Literal["work-order", "work-order-billing", "pack"],
    aggregate_id: str,
    version: int | None,
) -> None:
    await given.generated_pack(fakes, settings)
    await project_billing(fakes.uow(), ProjectBilling(str(WORK_ORDER), str(TENANT), {}, 8))
    query = pack_queries.ProjectionVersion(projection, aggregate_id)
    assert await pack_queries.projection_version(fakes.uow(str(TENANT)), query) == version
