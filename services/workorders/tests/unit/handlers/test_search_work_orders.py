"""search_work_orders: newest first, filters, a bank-name substring or an exact id (decision 25)."""

from __future__ import annotations

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import STAGE_CONTRACT, TENANT, FakeStore, photos
from workorders_service.domain.model import EvidenceProjection, WorkOrder
from workorders_service.handlers.search_work_orders import SearchWorkOrders, search_work_orders

BANKS = ("State Bank of India", "Punjab Co-op Bank", "Agri Bank 100%_off")


def _store_three(store: FakeStore) -> list[WorkOrder]:
    """Three work orders created in this order, one per bank of :data:`BANKS`."""
    statuses = ("DRAFT", "DATA_PENDING", "DRAFT")
    return [
        store.work_orders.add(bank_name=bank, status=status)
        for bank, status in zip(BANKS, statuses, strict=True)
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(SearchWorkOrders(), [2, 1, 0], id="all-newest-first"),
        pytest.param(SearchWorkOrders(limit=2), [2, 1], id="limit"),
        pytest.param(SearchWorkOrders(status="DRAFT"), [2, 0], id="status"),
        pytest.param(SearchWorkOrders(search="bank"), [2, 1, 0], id="name-case-insensitive"),
        pytest.param(SearchWorkOrders(search="co-op"), [1], id="name-substring"),
        pytest.param(SearchWorkOrders(search="100%_"), [2], id="wildcards-are-text"),
        pytest.param(SearchWorkOrders(search="   "), [2, 1, 0], id="blank-search-is-none"),
        pytest.param(SearchWorkOrders(search="nowhere", status="DRAFT"), [], id="no-match"),
    ],
)
async def test_filters_and_searches(
    store: FakeStore, uow: FakeUnitOfWork, query: SearchWorkOrders, expected: list[int]
) -> None:
    stored = _store_three(store)

    found = await search_work_orders(uow, query)

    assert [s.projected.work_order.id for s in found] == [stored[i].id for i in expected]


async def test_an_exact_id_finds_that_work_order(store: FakeStore, uow: FakeUnitOfWork) -> None:
    stored = _store_three(store)

    [found] = await search_work_orders(uow, SearchWorkOrders(search=f"  {stored[1].id} "))

    assert found.projected.work_order == stored[1]


async def test_a_summary_counts_evidence_and_comments_and_shows_the_latest_snapshot(
    store: FakeStore, uow: FakeUnitOfWork
) -> None:
    wo = store.work_orders.add()
    store.work_orders.add_snapshot(wo, STAGE_CONTRACT)
    latest = store.work_orders.add_snapshot(wo, STAGE_CONTRACT, version=2)
    await store.work_orders.insert_comment(wo, comment_type="NOTES", body="hi", created_by_user_id=None)
    await store.projections.upsert_evidence(wo.id, str(TENANT), EvidenceProjection(items=photos(3)))
    await store.projections.upsert_pack(
        work_order_id=wo.id, tenant_id=str(TENANT), source_version=4, failed_source_version=4
    )

    [summary] = await search_work_orders(uow, SearchWorkOrders())

    assert (summary.latest_snapshot_version, summary.latest_snapshot_created_at) == (2, latest.created_at)
    assert (summary.evidence_count, summary.comments_count, summary.projected.billing_payload) == (3, 1, None)
    assert summary.projected.pack is not None
    assert summary.projected.pack.failed_source_version == 4
