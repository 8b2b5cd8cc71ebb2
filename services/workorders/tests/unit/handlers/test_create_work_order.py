"""create_work_order: a DRAFT at version 1 with its initial readiness, and the ``created`` event."""

from __future__ import annotations

from dataclasses import asdict, replace

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import NEW_WORK_ORDER, TENANT, FakeStore
from workorders_service.handlers.create_work_order import CreateWorkOrder, create_work_order


async def test_stores_a_draft_with_its_readiness_and_emits_created(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    asked = replace(
        NEW_WORK_ORDER, report_type="STAGE_PROGRESS", bank_type="COOP", billing_external_key="acme"
    )

    wo = await create_work_order(uow, CreateWorkOrder(**asdict(asked)))

    assert store.work_orders.rows == {wo.id: wo}
    assert (wo.status, wo.version, wo.report_type, wo.template_selector) == (
        "DRAFT",
        1,
        "STAGE_PROGRESS",
        "UNKNOWN",
    )
    assert wo.current_readiness is not None
    assert wo.current_readiness["missing_fields"] == [
        "Property address is required",
        "Stage progress notes placeholder is required",
    ]
    [envelope] = uow.published
    assert (envelope.type, envelope.aggregate_id, envelope.aggregate_version) == ("created", str(wo.id), 1)
    assert envelope.tenant_id == str(TENANT)
    document = envelope.payload["work_order"]
    assert (document["id"], document["status"], document["bank_type"]) == (str(wo.id), "DRAFT", "COOP")
    assert document["billing_external_key"] == "acme"
    assert uow.commits == 0, "only the caller commits"
