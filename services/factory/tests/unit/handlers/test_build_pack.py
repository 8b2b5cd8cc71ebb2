"""build_pack (the READY_FOR_RENDER bridge) and create_pack (manual, §9.1) on in-memory fakes."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing import data
from factory_service.domain.errors import (
    IdempotencyKeyAlreadyUsed,
    PackCreationRequiresReadyForRender,
    SnapshotRequiredForPackCreation,
    WorkOrderNotFound,
)
from factory_service.domain.verification import display_code
from factory_service.handlers.build_pack import CreatePack, create_pack
from factory_service.records import WorkOrderColumns
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import ACTOR, TENANT, WORK_ORDER
from shared.contracts.workorders import ReadyForRender
from shared.stable_json import stable_dumps

FIRST_KEY = f"repogen_factory_generate:{WORK_ORDER}:v2"
ANOTHER_WORK_ORDERS_BUNDLE = {**data.hash01_bundle(), "work_order_id": str(uuid.UUID(int=7))}


class TestBridge:
    async def test_builds_the_pack_its_debug_json_artifact_and_a_queued_job(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.render_ready(fakes, settings)

        (pack,) = fakes.packs.rows.values()
        assert (pack.status, pack.version, pack.template_key, pack.render_generation) == (
            "generating",
            1,
            "SBI_UNDER_5CR_V1",
            1,
        )
        bundle = stable_dumps(data.hash01_bundle()).encode()
        assert fakes.packs.bundles[pack.id] == bundle
        (artifact,) = await fakes.packs.artifacts(uuid.UUID(pack.id))
        assert artifact.kind == "debug_json"
        assert fakes.blobs.get(artifact.blob_key) == bundle
        (job,) = fakes.jobs.rows.values()
        assert (job.status, job.idempotency_key, job.max_attempts, job.report_pack_id) == (
            "queued",
            FIRST_KEY,
            settings.generation_max_attempts,
            pack.id,
        )
        assert fakes.audit.actions() == ["pack_created", "generation_requested"]
        assert fakes.packs.locks == [f"pack|{WORK_ORDER}"]

    async def test_warnings_come_from_the_readiness_at_ready_for_render_and_each_pack_gets_a_code(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        """Issue 21: the snapshot's stale readiness is not the pack's; each pack has its own code."""
        stale = {"completeness_score": 80, "missing_evidence": ["photos: need at least 6, found 0"]}
        current = {
            "completeness_score": 100,
            "warnings": ["Field evidence links missing for 1 required field(s)."],
        }
        bundle = {**data.hash01_bundle(), "readiness_json": stale, "render_state": {"readiness": current}}
        await given.render_ready(fakes, settings, given.ready_for_render(bundle))

        (pack,) = fakes.packs.rows.values()
        assert [w["message"] for w in pack.warnings] == current["warnings"]
        assert pack.verification_code is not None
        assert len(pack.verification_code) == 12
        stamp = pack.context_snapshot["report_stamp"]
        assert stamp["verify_url"].endswith(display_code(pack.verification_code))
        assert stamp["valuer_name"] == settings.valuer_name

    async def test_publishes_pack_created_and_generation_requested_without_committing(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        uow = fakes.uow()
        await given.render_ready(fakes, settings, uow=uow)
        (pack,) = fakes.packs.rows.values()
        (job,) = fakes.jobs.rows.values()
        (created,) = uow.events_of("pack_created")
        assert created["pack_id"] == pack.id
        assert created["job_id"] == job.id
        assert (created["status"], created["job_status"], created["pack_version"]) == (
            "generating",
            "queued",
            1,
        )
        assert [a["kind"] for a in created["artifacts"]] == ["debug_json"]
        assert uow.events_of("generation_requested") == [
            {"job_id": job.id, "pack_id": pack.id, "work_order_id": str(WORK_ORDER)}
        ]
        assert [e.aggregate_version for e in uow.published] == [1, 1]
        assert uow.commits == 0  # the consumer commits, with its inbox row

    async def test_a_redelivery_of_the_same_generation_builds_nothing(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.render_ready(fakes, settings)
        uow = fakes.uow()
        await given.render_ready(fakes, settings, source_version=6, uow=uow)
        assert len(fakes.packs.rows) == len(fakes.jobs.rows) == 1
        assert uow.published == []

    @pytest.mark.parametrize(
        ("event", "code"),
        [
            (given.ready_for_render(ANOTHER_WORK_ORDERS_BUNDLE), "EXPORT_BUNDLE_INVALID"),
            (given.ready_for_render({}), "EXPORT_BUNDLE_INVALID"),
            (given.ready_for_render(export_bundle_hash="0" * 64), "EXPORT_BUNDLE_HASH_MISMATCH"),
        ],
    )
    async def test_a_bundle_that_cannot_become_a_pack_is_recorded_as_a_failed_pack(
        self, fakes: FactoryFakes, settings: Settings, event: ReadyForRender, code: str
    ) -> None:
        uow = fakes.uow()
        await given.render_ready(fakes, settings, event, uow=uow)

        (pack,) = fakes.packs.rows.values()
        assert (pack.status, pack.failure_code) == ("failed", code)
        assert fakes.jobs.rows == {}
        assert fakes.packs.artifact_rows == {}
        assert fakes.audit.actions() == ["pack_failed"]
        (failed,) = uow.events_of("pack_failed")
        assert (failed["pack_id"], failed["code"]) == (pack.id, code)

    async def test_a_new_render_generation_supersedes_the_live_pack_and_cancels_its_job(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.render_ready(fakes, settings)
        (first,) = fakes.packs.rows.values()
        await given.render_ready(
            fakes, settings, given.ready_for_render(render_generation=2), source_version=9
        )

        old = fakes.packs.rows[first.id]
        assert old.status == "superseded"
        assert old.superseded_at is not None
        new = await fakes.packs.live(WORK_ORDER)
        assert new is not None
        assert (new.version, new.render_generation) == (2, 2)
        old_job, new_job = fakes.jobs.rows.values()
        assert (old_job.status, old_job.error_code) == ("cancelled", "PACK_SUPERSEDED")
        assert new_job.idempotency_key == f"{FIRST_KEY}:g2"
        assert fakes.audit.actions()[2] == "pack_superseded"


class TestCreatePack:
    def create(self, key: str | None = None) -> CreatePack:
        return CreatePack(WORK_ORDER, ACTOR, key)

    @pytest.mark.parametrize(
        ("projected", "error"),
        [
            (None, WorkOrderNotFound),
            ({"status": "DATA_PENDING"}, PackCreationRequiresReadyForRender),
            ({"status": "READY_FOR_RENDER"}, SnapshotRequiredForPackCreation),
        ],
    )
    async def test_refuses_a_work_order_that_is_not_ready(
        self,
        fakes: FactoryFakes,
        settings: Settings,
        projected: WorkOrderColumns | None,
        error: type[Exception],
    ) -> None:
        if projected is not None:
            await fakes.work_orders.upsert(str(WORK_ORDER), str(TENANT), projected, 1)
        uow = fakes.uow(str(TENANT))
        with pytest.raises(error):
            await create_pack(uow, self.create(), settings=settings, blobs=fakes.blobs)
        assert fakes.packs.rows == {}
        assert uow.published == []
        assert uow.commits == 0

    async def test_a_pack_being_generated_is_answered_as_a_replay(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.render_ready(fakes, settings)
        uow = fakes.uow(str(TENANT))
        created = await create_pack(uow, self.create(), settings=settings, blobs=fakes.blobs)
        assert created.idempotent
        assert created.pack_state_version == 1
        assert created.pack_link.pack is not None
        assert created.pack_link.pack.status == "generating"
        assert uow.published == []
        assert len(fakes.packs.rows) == 1

    async def test_a_failed_pack_is_built_again_as_the_next_version(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.render_ready(fakes, settings)
        (failed,) = fakes.packs.rows.values()
        await fakes.packs.set_status(uuid.UUID(failed.id), "failed", failure_code="RENDER_FAILED")
        uow = fakes.uow(str(TENANT))
        created = await create_pack(uow, self.create(), settings=settings, blobs=fakes.blobs)

        pack = created.pack_link.pack
        assert not created.idempotent
        assert pack is not None
        assert (pack.version, pack.status, pack.created_by_user_id) == (2, "generating", str(ACTOR))
        assert fakes.packs.rows[failed.id].status == "superseded"
        assert created.pack_link.job is not None
        assert created.pack_link.job.idempotency_key == f"{FIRST_KEY}:p2"  # the snapshot's key is taken
        assert created.pack_state_version == 2
        assert uow.commits == 1
        assert [e.type for e in uow.published] == ["pack_created", "generation_requested"]

    async def test_a_requested_key_another_job_holds_is_a_conflict(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.render_ready(fakes, settings)
        (pack,) = fakes.packs.rows.values()
        await fakes.packs.set_status(uuid.UUID(pack.id), "failed")
        with pytest.raises(IdempotencyKeyAlreadyUsed) as raised:
            await create_pack(
                fakes.uow(str(TENANT)), self.create(FIRST_KEY), settings=settings, blobs=fakes.blobs
            )
        assert raised.value.details == {"idempotency_key": FIRST_KEY}
