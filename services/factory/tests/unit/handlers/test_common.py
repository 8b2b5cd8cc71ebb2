"""What the use cases share, on fakes: the pack-state event stream, supersession and artifact refs."""

from __future__ import annotations

import uuid

from factory_service.handlers.common import artifact_refs, emit_pack_state, supersede
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import ACTOR, TENANT, WORK_ORDER
from shared.contracts.factory import PackFailed


async def test_pack_state_versions_count_per_work_order_and_key_the_events(fakes: FactoryFakes) -> None:
    uow = fakes.uow()
    other = uuid.UUID(int=8)
    for work_order in (WORK_ORDER, other, WORK_ORDER):
        event = PackFailed(work_order_id=str(work_order), pack_id="p", code="X", reason="y")
        await emit_pack_state(uow, event, work_order_id=work_order, tenant_id=TENANT)

    assert [(topic, key, e.aggregate_version) for topic, key, e in uow.outbox] == [
        (PackFailed.TOPIC, str(WORK_ORDER), 1),
        (PackFailed.TOPIC, str(other), 1),
        (PackFailed.TOPIC, str(WORK_ORDER), 2),
    ]
    assert {e.tenant_id for e in uow.published} == {str(TENANT)}
    assert await fakes.packs.state_version(str(WORK_ORDER)) == 2


async def test_superseding_a_generated_pack_keeps_its_completed_job_and_audits_why(
    fakes: FactoryFakes, settings: Settings
) -> None:
    pack = await given.generated_pack(fakes, settings)
    await supersede(fakes.uow(), pack, reason="work order reopened", actor=ACTOR)

    assert fakes.packs.rows[pack.id].status == "superseded"
    assert [j.status for j in fakes.jobs.rows.values()] == ["completed"]
    last = fakes.audit.rows[-1]
    assert (last.action, last.entity_id, last.actor_user_id) == ("pack_superseded", pack.id, str(ACTOR))
    assert last.metadata_json == {
        "reason": "work order reopened",
        "pack_version": 1,
        "previous_status": "generated",
    }


async def test_artifact_refs_carry_the_wire_fields_of_each_artifact(
    fakes: FactoryFakes, settings: Settings
) -> None:
    pack = await given.generated_pack(fakes, settings)
    refs = await artifact_refs(fakes.uow(), uuid.UUID(pack.id))
    artifacts = await fakes.packs.artifacts(uuid.UUID(pack.id))
    assert [(r.id, r.kind, r.checksum_sha256, r.storage_ref) for r in refs] == [
        (a.id, a.kind, a.checksum_sha256, a.storage_ref) for a in artifacts
    ]
