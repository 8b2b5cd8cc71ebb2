"""read_projection_version: the source version each projection reflects (``x-zenops-after``)."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import TENANT, FakeStore
from workorders_service.domain.model import EvidenceProjection
from workorders_service.handlers.read_projection_version import ReadProjectionVersion, read_projection_version


async def _project_all(store: FakeStore, work_order_id: uuid.UUID) -> None:
    """Evidence at version 7, billing at 8, pack at 9."""
    projections, tenant = store.projections, str(TENANT)
    await projections.upsert_evidence(work_order_id, tenant, EvidenceProjection(source_version=7))
    await projections.upsert_billing(
        work_order_id=work_order_id, tenant_id=tenant, payload={}, source_version=8
    )
    await projections.upsert_pack(work_order_id=work_order_id, tenant_id=tenant, source_version=9, status="x")


@pytest.mark.parametrize(("projection", "version"), [("evidence", 7), ("billing", 8), ("pack", 9)])
async def test_answers_the_projected_source_version(
    store: FakeStore, uow: FakeUnitOfWork, projection: str, version: int
) -> None:
    wo_id, other = uuid.uuid4(), uuid.uuid4()
    await _project_all(store, wo_id)

    assert await read_projection_version(uow, ReadProjectionVersion(projection, wo_id)) == version
    assert await read_projection_version(uow, ReadProjectionVersion(projection, other)) is None
