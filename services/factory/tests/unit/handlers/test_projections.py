"""The projections of workorders' work orders and billing's state, and withdrawing a pack, on fakes."""

from __future__ import annotations

import uuid

import pytest

from factory_service.handlers import projections
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import ACTOR, TENANT, WORK_ORDER

WO = str(WORK_ORDER)


def status_at(status: str, version: int, *, tenant: str | None = None) -> projections.ProjectWorkOrder:
    return projections.ProjectWorkOrder(WO, tenant, {"status": status}, version)


class TestProjectWorkOrder:
    async def test_inserts_with_the_schema_defaults_then_only_newer_versions_overwrite(
        self, fakes: FactoryFakes
    ) -> None:
        uow = fakes.uow()
        assert await projections.project_work_order(
            uow, status_at("DATA_PENDING", 3, tenant=str(TENANT))
        ) == str(TENANT)
        for stale in (status_at("CLOSED", 2), status_at("CLOSED", 3)):
            assert await projections.project_work_order(uow, stale) == str(
                TENANT
            )  # tenant from the stored row
        row = fakes.work_orders.rows[WO]
        assert (row.status, row.source_version, row.report_type, row.render_generation) == (
            "DATA_PENDING",
            3,
            "VALUATION",
            0,
        )
        await projections.project_work_order(uow, status_at("READY_FOR_RENDER", 4))
        assert (fakes.work_orders.rows[WO].status, await fakes.work_orders.version(WO)) == (
            "READY_FOR_RENDER",
            4,
        )
        assert uow.published == []

    async def test_an_event_without_tenant_for_an_unknown_work_order_is_dropped(
        self, fakes: FactoryFakes
    ) -> None:
        assert await projections.project_work_order(fakes.uow(), status_at("DATA_PENDING", 1)) is None
        assert fakes.work_orders.rows == {}

    async def test_note_version_only_moves_forward(self, fakes: FactoryFakes) -> None:
        uow = fakes.uow()
        await projections.project_work_order(uow, status_at("DATA_PENDING", 3, tenant=str(TENANT)))
        for seen in (7, 5):
            await projections.note_work_order_version(uow, projections.NoteWorkOrderVersion(WO, seen))
        assert fakes.work_orders.rows[WO].source_version == 7
        await projections.note_work_order_version(
            uow, projections.NoteWorkOrderVersion(str(uuid.UUID(int=9)), 1)
        )
        assert list(fakes.work_orders.rows) == [WO]


class TestRenderReady:
    async def test_projects_the_frozen_bundle_and_builds_the_pack(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        event = given.ready_for_render()
        await given.render_ready(fakes, settings, event, source_version=5)
        row = fakes.work_orders.rows[WO]
        assert (row.status, row.snapshot_version, row.render_generation, row.source_version) == (
            "READY_FOR_RENDER",
            2,
            1,
            5,
        )
        assert row.export_bundle_json == event.export_bundle
        assert row.export_bundle_hash == event.export_bundle_hash
        (pack,) = fakes.packs.rows.values()
        assert pack.created_by_user_id == str(ACTOR)

    async def test_without_a_tenant_nothing_is_built(self, fakes: FactoryFakes, settings: Settings) -> None:
        command = projections.RenderReadyWorkOrder(given.ready_for_render(), None, 5)
        await projections.render_ready_work_order(fakes.uow(), command, settings=settings, blobs=fakes.blobs)
        assert fakes.work_orders.rows == {}
        assert fakes.packs.rows == {}


class TestWithdrawPack:
    @pytest.mark.parametrize(
        ("generated", "status", "superseded"),
        [
            (False, "DATA_PENDING", True),  # reopened while rendering
            (True, "DATA_PENDING", True),  # reopened after rendering (decision 29)
            (False, "CANCELLED", True),
            (True, "CANCELLED", False),  # its deliverables may have been released
        ],
    )
    async def test_supersedes_the_live_pack_unless_a_cancelled_work_order_has_a_generated_one(
        self, fakes: FactoryFakes, settings: Settings, generated: bool, status: str, superseded: bool
    ) -> None:
        if generated:
            await given.generated_pack(fakes, settings)
        else:
            await given.render_ready(fakes, settings)
        (pack,) = fakes.packs.rows.values()
        (job,) = fakes.jobs.rows.values()
        uow = fakes.uow()
        await projections.withdraw_pack(uow, projections.WithdrawPack(status_at(status, 20), ACTOR))

        assert fakes.work_orders.rows[WO].status == status
        assert (fakes.packs.rows[pack.id].status == "superseded") is superseded
        # Only an unfinished job is cancelled; a completed one stays completed.
        assert fakes.jobs.rows[job.id].status == ("completed" if generated else "cancelled")
        audited = [a for a in fakes.audit.rows if a.action == "pack_superseded"]
        assert len(audited) == int(superseded)
        if superseded:
            assert audited[0].metadata_json["reason"] == f"work order {status.lower()}"
            assert audited[0].actor_user_id == str(ACTOR)
        assert uow.published == []

    async def test_an_unknown_work_order_or_one_without_a_pack_changes_nothing(
        self, fakes: FactoryFakes
    ) -> None:
        await projections.withdraw_pack(
            fakes.uow(), projections.WithdrawPack(status_at("CANCELLED", 2), None)
        )
        assert fakes.work_orders.rows == {}
        await projections.withdraw_pack(
            fakes.uow(), projections.WithdrawPack(status_at("CANCELLED", 3, tenant=str(TENANT)), None)
        )
        assert fakes.work_orders.rows[WO].status == "CANCELLED"
        assert fakes.audit.rows == []


class TestProjectBilling:
    async def test_keeps_the_newest_state_with_its_version(self, fakes: FactoryFakes) -> None:
        uow = fakes.uow()
        for state, version in (({"mode": "CREDIT"}, 4), ({"mode": "POSTPAID"}, 3)):
            await projections.project_billing(
                uow, projections.ProjectBilling(WO, str(TENANT), state, version)
            )
        billing = await fakes.work_orders.billing(WORK_ORDER)
        assert billing is not None
        assert (billing.state, billing.source_version) == ({"mode": "CREDIT"}, 4)
        assert await fakes.work_orders.billing_version(WO) == 4

    async def test_a_state_without_tenant_for_an_unknown_work_order_is_dropped(
        self, fakes: FactoryFakes
    ) -> None:
        await projections.project_billing(
            fakes.uow(), projections.ProjectBilling(WO, None, {"mode": "CREDIT"}, 1)
        )
        assert fakes.work_orders.billing_rows == {}
