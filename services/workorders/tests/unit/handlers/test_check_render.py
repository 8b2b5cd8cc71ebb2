"""check_render: settled once factory answered the render since the request's baseline."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import TENANT, FakeStore
from workorders_service.handlers.check_render import CheckRender, check_render


@pytest.mark.parametrize(
    ("status", "baseline", "pack", "settled"),
    [
        pytest.param("READY_FOR_RENDER", 3, None, False, id="no-pack-yet"),
        pytest.param(
            "READY_FOR_RENDER", 3, {"created_source_version": 3}, False, id="pack-of-an-older-render"
        ),
        pytest.param("READY_FOR_RENDER", 3, {"created_source_version": 4}, True, id="pack-created"),
        pytest.param("READY_FOR_RENDER", 3, {"failed_source_version": 5}, True, id="render-failed"),
        pytest.param("READY_FOR_RENDER", None, None, False, id="no-baseline"),
        pytest.param("DATA_PENDING", 3, None, True, id="reopened-meanwhile"),
    ],
)
async def test_settled_when_factory_answered_or_nothing_is_left_to_wait_for(
    store: FakeStore,
    uow: FakeUnitOfWork,
    status: str,
    baseline: int | None,
    pack: dict[str, int] | None,
    settled: bool,
) -> None:
    wo = store.work_orders.add(status=status, pack_baseline_version=baseline)
    if pack is not None:
        version = max(pack.values())
        await store.projections.upsert_pack(
            work_order_id=wo.id, tenant_id=str(TENANT), source_version=version, status="generated", **pack
        )

    assert await check_render(uow, CheckRender(wo.id)) is settled


async def test_a_work_order_that_is_gone_is_settled(uow: FakeUnitOfWork) -> None:
    assert await check_render(uow, CheckRender(uuid.uuid4())) is True
