"""Following workorders on fakes: the reference row, its status and source version only move forward."""

from __future__ import annotations

from dataclasses import replace

from billing_service.handlers.work_orders import (
    FollowWorkOrderStatus,
    NoteWorkOrderVersion,
    follow_work_order_status,
    note_work_order_version,
    record_work_order,
)
from billing_service.repositories import WorkOrderReference
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, FakeBilling

CREATED = WorkOrderReference(WORK_ORDER, TENANT, "v1:partner:acme", "VALUATION", "SBI", None, "DRAFT", 1)


async def test_the_reference_is_recorded_and_refreshed_only_by_newer_versions(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    await record_work_order(uow, CREATED)
    await record_work_order(uow, replace(CREATED, bank_name="HDFC", assignment_id="a-1", source_version=3))
    await record_work_order(uow, replace(CREATED, bank_name="stale", source_version=2))
    await record_work_order(uow, replace(CREATED, source_version=4))
    row = billing.work_orders.rows[WORK_ORDER]
    # An event without an assignment keeps the one known (COALESCE).
    assert (row.bank_name, row.assignment_id, row.source_version) == ("SBI", "a-1", 4)
    assert (row.acceptance_status, row.billing_version) == (None, 0)
    assert uow.published == []


async def test_status_and_version_only_move_forward(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    await record_work_order(uow, CREATED)
    await follow_work_order_status(uow, FollowWorkOrderStatus(WORK_ORDER, "DATA_PENDING", 3))
    await follow_work_order_status(uow, FollowWorkOrderStatus(WORK_ORDER, "DRAFT", 2))
    await note_work_order_version(uow, NoteWorkOrderVersion(WORK_ORDER, 5))
    await note_work_order_version(uow, NoteWorkOrderVersion(WORK_ORDER, 4))
    row = billing.work_orders.rows[WORK_ORDER]
    assert (row.status, row.source_version) == ("DATA_PENDING", 5)


async def test_an_unknown_work_order_is_not_created_by_a_status(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    await follow_work_order_status(uow, FollowWorkOrderStatus(WORK_ORDER, "DATA_PENDING", 3))
    await note_work_order_version(uow, NoteWorkOrderVersion(WORK_ORDER, 3))
    assert billing.work_orders.rows == {}
