"""request_release on fakes: the PENDING release, the key rules and the link to a prior success."""

from __future__ import annotations

import uuid

import pytest

from factory_service.domain.errors import (
    IdempotencyKeyAlreadyUsed,
    PackGenerationNotCompleted,
    ReleaseInProgress,
    ReportPackNotLinked,
    WorkOrderNotFound,
)
from factory_service.handlers.projections import ProjectBilling, project_billing
from factory_service.handlers.release_request import ReleaseStarted, request_release
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import ACTOR, TENANT, WORK_ORDER, Arrange

CREDIT_STATE = {"mode": "CREDIT", "account_id": "acc-1", "hold": {"id": "hold-1", "status": "ACTIVE"}}


async def request(fakes: FactoryFakes, key: str = "release-1") -> tuple[ReleaseStarted, int]:
    """Run the request in its own unit of work; returns the answer and how many commits it made."""
    uow = fakes.uow(str(TENANT))
    started = await request_release(uow, given.release_request(key))
    return started, uow.commits


async def test_records_a_pending_release_with_the_billing_facts_and_asks_billing(
    fakes: FactoryFakes, settings: Settings
) -> None:
    pack = await given.generated_pack(fakes, settings)
    await project_billing(fakes.uow(), ProjectBilling(str(WORK_ORDER), str(TENANT), CREDIT_STATE, 3))
    uow = fakes.uow(str(TENANT))
    started = await request_release(uow, given.release_request("release-1"))

    release = fakes.releases.rows[started.release_id]
    assert started == ReleaseStarted(release.id, False, None, 3)  # pack_created, pack_generated, this
    assert (release.billing_gate_result, release.billing_mode_at_release, release.report_pack_id) == (
        "PENDING",
        "CREDIT",
        pack.id,
    )
    assert (release.released_by_user_id, release.org_id, release.released_at) == (
        str(ACTOR),
        str(TENANT),
        None,
    )
    job_id = next(iter(fakes.jobs.rows))
    assert release.metadata_json == {
        "report_generation_job_id": job_id,
        "report_generation_job_status": "completed",
        "override_requested": False,
        "billing_account_id": "acc-1",
        "billing_reservation_id": "hold-1",
        "billing_service_invoice_id": None,
        "billing_service_invoice_status": None,
        "billing_service_invoice_is_paid": None,
    }
    assert fakes.releases.locks == [f"release-key|{TENANT}|release-1", f"release-wo|{WORK_ORDER}"]
    assert fakes.audit.actions()[-1] == "deliverables_release_requested"
    (requested,) = uow.events_of("release_requested")
    assert (requested["release_id"], requested["idempotency_key"], requested["pack_id"]) == (
        release.id,
        "release-1",
        pack.id,
    )
    assert (requested["job_status"], requested["actor_user_id"], requested["override"]) == (
        "completed",
        str(ACTOR),
        False,
    )
    assert uow.commits == 1


async def test_the_same_key_again_answers_the_stored_release(fakes: FactoryFakes, settings: Settings) -> None:
    await given.generated_pack(fakes, settings)
    first, _ = await request(fakes)
    uow = fakes.uow(str(TENANT))
    again = await request_release(uow, given.release_request())
    assert again == ReleaseStarted(first.release_id, True, None, None)
    assert len(fakes.releases.rows) == 1
    assert uow.published == []
    assert uow.commits == 0


async def test_a_key_used_for_another_work_order_is_a_conflict(
    fakes: FactoryFakes, settings: Settings
) -> None:
    await given.generated_pack(fakes, settings)
    await request(fakes)
    other = uuid.UUID(int=5)
    await fakes.work_orders.upsert(str(other), str(TENANT), {"status": "READY_FOR_RENDER"}, 1)
    with pytest.raises(IdempotencyKeyAlreadyUsed):
        await request_release(fakes.uow(str(TENANT)), given.release_request(work_order_id=other))


@pytest.mark.parametrize(
    ("arrange", "error"),
    [
        (given.nothing, WorkOrderNotFound),
        (given.projected_only, ReportPackNotLinked),
        (given.render_ready, PackGenerationNotCompleted),
    ],
)
async def test_a_work_order_without_a_generated_pack_cannot_be_released(
    fakes: FactoryFakes, settings: Settings, arrange: Arrange, error: type[Exception]
) -> None:
    await arrange(fakes, settings)
    uow = fakes.uow(str(TENANT))
    with pytest.raises(error):
        await request_release(uow, given.release_request())
    assert fakes.releases.rows == {}
    assert uow.published == []


async def test_a_new_key_while_a_release_is_pending_is_refused(
    fakes: FactoryFakes, settings: Settings
) -> None:
    await given.generated_pack(fakes, settings)
    pending, _ = await request(fakes)
    with pytest.raises(ReleaseInProgress) as raised:
        await request(fakes, "release-2")
    assert raised.value.details == {
        "release_id": pending.release_id,
        "poll_url": f"/v1/repogen/work-orders/{WORK_ORDER}/releases",
    }


async def test_a_new_key_after_a_success_is_recorded_as_a_link_to_it(
    fakes: FactoryFakes, settings: Settings
) -> None:
    prior = await given.released(fakes, settings, "PAID")
    uow = fakes.uow(str(TENANT))
    started = await request_release(uow, given.release_request("release-2"))

    assert started.release_id == prior.id
    assert started.idempotent
    assert started.recorded_release_id is not None
    link = fakes.releases.rows[started.recorded_release_id]
    assert (link.prior_release_id, link.billing_gate_result, link.idempotency_key) == (
        prior.id,
        "PAID",
        "release-2",
    )
    assert link.metadata_json["replay_of_prior_success"] is True
    assert fakes.audit.actions()[-1] == "deliverables_release_replayed"
    (recorded,) = uow.events_of("release_recorded")
    assert recorded["release"] == link.model_dump()
    assert started.pack_state_version == uow.published[0].aggregate_version
    assert uow.commits == 1
