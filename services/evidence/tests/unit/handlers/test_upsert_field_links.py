"""``upsert_field_links``: link, update, refresh or remove (§4.7, decision 6); one note per change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from devstack.testing.data import TEST_TENANT, TEST_USER
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import (
    ContractSnapshotRequiredForFieldEvidenceLinks,
    EvidenceError,
    EvidenceItemsNotFoundForWorkOrder,
    FieldEvidenceLinkConflict,
    FieldEvidenceLinkNotFound,
    SnapshotNotFoundForWorkOrder,
)
from evidence_service.handlers.upsert_field_links import FieldLinkChange, UpsertFieldLinks, upsert_field_links
from evidence_service.records import EvidenceItem, WorkOrder
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.contracts.evidence import EvidenceState

SNAPSHOT = uuid.uuid4()


def _change(item: EvidenceItem, key: str = "property.address", **values: Any) -> FieldLinkChange:
    line = {"id": None, "snapshot_id": None, "confidence": None, "note": None, "remove": False, **values}
    return FieldLinkChange(field_key=key, evidence_item_id=item.id, **line)


async def _upsert(uow: FakeUnitOfWork, wo: WorkOrder, *changes: FieldLinkChange) -> Sequence[str]:
    """The lines of the note the changes produced (none when nothing changed)."""
    before = len(uow.published)
    await upsert_field_links(uow, UpsertFieldLinks(TEST_TENANT, wo.work_order_id, changes, TEST_USER))
    notes = [note for state in uow.events_of(EvidenceState.TYPE)[before:] for note in state["notes"]]
    return notes[0]["body"].splitlines()[1:] if notes else []


@pytest.fixture
async def wo(fakes: Fakes) -> WorkOrder:
    """A work order with contract snapshot 3 announced."""
    wo = fakes.work_order(TENANT, latest_snapshot_id=SNAPSHOT, latest_snapshot_version=3)
    await fakes.work_orders.record_snapshot(TENANT, wo.work_order_id, SNAPSHOT, 3)
    return wo


async def test_link_refresh_update_and_remove(fakes: Fakes, uow: FakeUnitOfWork, wo: WorkOrder) -> None:
    item = fakes.item(wo)

    linked = await _upsert(uow, wo, _change(item, " property.address "))
    (link,) = fakes.links.rows.values()
    again = await _upsert(uow, wo, _change(item))
    refreshed = await _upsert(uow, wo, _change(item, confidence=0.5))
    updated = await _upsert(uow, wo, _change(item, "property.land_area", id=link.id))
    removed = await _upsert(uow, wo, _change(item, "property.land_area", remove=True))

    assert (link.field_key, link.snapshot_id, link.snapshot_version, link.created_by_user_id) == (
        "property.address",
        SNAPSHOT,
        3,
        uuid.UUID(TEST_USER),
    )
    assert [linked, again, refreshed, updated, removed] == [
        [f"- Linked property.address <- {item.id} (snapshot v3)"],
        [],
        [f"- Refreshed property.address <- {item.id} (snapshot v3)"],
        [f"- Updated property.land_area <- {item.id} (snapshot v3)"],
        [f"- Removed property.land_area <- {item.id} (snapshot v3)"],
    ]
    assert (fakes.links.rows, len(uow.published)) == ({}, 4)


async def test_removing_an_absent_link_changes_nothing(
    fakes: Fakes, uow: FakeUnitOfWork, wo: WorkOrder
) -> None:
    assert await _upsert(uow, wo, _change(fakes.item(wo), remove=True)) == []
    assert uow.published == []


async def test_a_link_on_an_announced_older_snapshot(
    fakes: Fakes, uow: FakeUnitOfWork, wo: WorkOrder
) -> None:
    older = uuid.uuid4()
    await fakes.work_orders.record_snapshot(TENANT, wo.work_order_id, older, 2)

    await _upsert(uow, wo, _change(fakes.item(wo), snapshot_id=older))

    assert [(link.snapshot_id, link.snapshot_version) for link in fakes.links.rows.values()] == [(older, 2)]


async def test_an_update_onto_another_links_key_conflicts(
    fakes: Fakes, uow: FakeUnitOfWork, wo: WorkOrder
) -> None:
    item = fakes.item(wo)
    await _upsert(uow, wo, _change(item, "property.address"), _change(item, "property.land_area"))
    land_area = next(link for link in fakes.links.rows.values() if link.field_key == "property.land_area")

    with pytest.raises(FieldEvidenceLinkConflict) as raised:
        await _upsert(uow, wo, _change(item, "property.address", id=land_area.id))

    assert raised.value.status == 409
    assert raised.value.details == {"link_id": str(next(iter(fakes.links.rows.values())).id)}


@pytest.mark.parametrize(
    ("line", "own_item", "error"),
    [
        ({"id": uuid.uuid4()}, True, FieldEvidenceLinkNotFound),
        ({"snapshot_id": uuid.uuid4()}, True, SnapshotNotFoundForWorkOrder),
        ({}, False, EvidenceItemsNotFoundForWorkOrder),
    ],
    ids=["unknown-link", "unknown-snapshot", "foreign-item"],
)
async def test_refused_lines_change_nothing(
    fakes: Fakes,
    uow: FakeUnitOfWork,
    wo: WorkOrder,
    line: dict[str, Any],
    own_item: bool,
    error: type[EvidenceError],
) -> None:
    item = fakes.item(wo if own_item else fakes.work_order(TENANT))

    with pytest.raises(error):
        await _upsert(uow, wo, _change(item, **line))

    assert (fakes.links.rows, uow.published) == ({}, [])


async def test_links_need_a_contract_snapshot(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)

    with pytest.raises(ContractSnapshotRequiredForFieldEvidenceLinks) as raised:
        await _upsert(uow, wo, _change(fakes.item(wo)))

    assert (raised.value.code, fakes.links.rows) == (
        "CONTRACT_SNAPSHOT_REQUIRED_FOR_FIELD_EVIDENCE_LINKS",
        {},
    )
