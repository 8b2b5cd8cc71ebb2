"""record_work_order_billing: the billing projection and the acceptance saga's outcome (architecture §4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import TENANT, FakeStore
from shared.contracts.billing import WorkOrderBilling
from workorders_service.domain.model import WorkOrder
from workorders_service.handlers.record_work_order_billing import (
    RecordWorkOrderBilling,
    record_work_order_billing,
)

REQUEST_ID = uuid.UUID("77777777-7777-4777-8777-777777777777")


def _pending(store: FakeStore, status: str = "DATA_PENDING") -> WorkOrder:
    """A work order waiting for billing's answer to acceptance request :data:`REQUEST_ID`."""
    return store.work_orders.add(
        status=status,
        acceptance_status="PENDING",
        acceptance_request_id=REQUEST_ID,
        acceptance_previous_status="EVIDENCE_PENDING",
    )


async def _answer(
    uow: FakeUnitOfWork, wo_id: uuid.UUID, version: int = 1, **acceptance: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {"work_order_id": str(wo_id), "mode": "POSTPAID"}
    if acceptance:
        payload["acceptance"] = {"request_message_id": str(REQUEST_ID), **acceptance}
    event = WorkOrderBilling.model_validate(payload)
    await record_work_order_billing(uow, RecordWorkOrderBilling(wo_id, event, payload, str(TENANT), version))
    return payload


async def test_accepted_settles_the_pending_acceptance(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo = _pending(store)

    payload = await _answer(uow, wo.id, 4, status="ACCEPTED")

    assert store.projections.billing_rows[wo.id].payload == payload
    stored = store.work_orders.rows[wo.id]
    assert (stored.acceptance_status, stored.status, uow.published) == ("ACCEPTED", "DATA_PENDING", [])


async def test_rejected_reverts_the_status_with_a_note_and_an_event(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = _pending(store)

    await _answer(
        uow, wo.id, status="REJECTED", code="ACCOUNT_NOT_ACTIVE", message="suspended", details={"a": 1}
    )

    stored = store.work_orders.rows[wo.id]
    assert (stored.status, stored.acceptance_status, stored.acceptance_code) == (
        "EVIDENCE_PENDING",
        "REJECTED",
        "ACCOUNT_NOT_ACTIVE",
    )
    assert (stored.acceptance_message, stored.acceptance_details, stored.version) == (
        "suspended",
        {"a": 1},
        2,
    )
    [note] = await store.work_orders.comments(wo.id)
    assert note.body == "Acceptance rejected by billing: ACCOUNT_NOT_ACTIVE\nsuspended"
    [reverted] = uow.events_of("status_changed")
    assert (reverted["from_status"], reverted["to_status"], reverted["revert_of_rejected_acceptance"]) == (
        "DATA_PENDING",
        "EVIDENCE_PENDING",
        True,
    )


async def test_a_rejection_after_the_status_moved_on_only_records_it(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = _pending(store, status="CANCELLED")

    await _answer(uow, wo.id, status="REJECTED")

    stored = store.work_orders.rows[wo.id]
    assert (stored.status, stored.acceptance_status, stored.acceptance_code) == (
        "CANCELLED",
        "REJECTED",
        "ACCEPTANCE_REJECTED",
    )
    assert uow.published == []
    assert await store.work_orders.comments(wo.id) == []


@pytest.mark.parametrize(
    "acceptance",
    [
        pytest.param(
            {"status": "ACCEPTED", "request_message_id": str(uuid.uuid4())}, id="answer-to-an-older-request"
        ),
        pytest.param({"status": "PENDING"}, id="still-pending"),
        pytest.param({}, id="no-acceptance"),
    ],
)
async def test_anything_else_only_updates_the_projection(
    store: FakeStore, uow: FakeUnitOfWork, acceptance: dict[str, Any]
) -> None:
    wo = _pending(store)

    await _answer(uow, wo.id, 2, **acceptance)

    assert store.projections.billing_rows[wo.id].source_version == 2
    assert store.work_orders.rows[wo.id] == wo
    assert uow.published == []


async def test_an_older_billing_state_is_ignored(store: FakeStore, uow: FakeUnitOfWork) -> None:
    wo_id = uuid.uuid4()
    newer = await _answer(uow, wo_id, 5)
    await _answer(uow, wo_id, 4, status="ACCEPTED")
    assert store.projections.billing_rows[wo_id].payload == newer
    assert store.projections.tenants[("billing", wo_id)] == str(TENANT)
