"""record_gate_outcome on fakes: billing's decision lands on the PENDING release exactly once."""

from __future__ import annotations

import pytest

from factory_service.handlers.gate_outcome import RecordGateOutcome, record_gate_outcome
from factory_service.handlers.release_request import request_release
from factory_service.records import ReleaseRecord
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import ACTOR, TENANT


@pytest.fixture
async def pending(fakes: FactoryFakes, settings: Settings) -> ReleaseRecord:
    """A PENDING release of a generated pack."""
    await given.generated_pack(fakes, settings)
    started = await request_release(fakes.uow(str(TENANT)), given.release_request())
    return fakes.releases.rows[started.release_id]


@pytest.mark.parametrize(
    ("result", "action", "fields"),
    [
        ("CREDIT_CONSUMED", "deliverables_released", {}),
        ("BLOCKED", "deliverables_release_blocked", {"blocked_reason": "NO_ACTIVE_RESERVATION"}),
        (
            "ERROR",
            "deliverables_release_failed",
            {"error_code": "CREDIT_CONSUME_FAILED", "error_message": "x"},
        ),
    ],
)
async def test_records_the_outcome_audits_it_and_publishes_the_release(
    fakes: FactoryFakes, pending: ReleaseRecord, result: str, action: str, fields: dict[str, str]
) -> None:
    uow = fakes.uow()
    decision = given.gate_decided(pending.id, result, metadata={"gate": "v1"}, **fields)
    await record_gate_outcome(uow, RecordGateOutcome(decision))

    decided = fakes.releases.rows[pending.id]
    assert (decided.billing_gate_result, decided.billing_mode_at_release, decided.error_code) == (
        result,
        "CREDIT",
        fields.get("error_code"),
    )
    assert (decided.decision_id, decided.decision_hash, decided.released_at is not None) == (
        "decision-1",
        "hash-1",
        True,
    )
    metadata = decided.metadata_json
    assert metadata["report_generation_job_status"] == "completed"  # kept from the request
    assert (metadata["gate"], metadata["ledger_entry_ids"], metadata["credit_consume_ledger_id"]) == (
        "v1",
        ["ledger-1"],
        "ledger-1",
    )
    assert metadata["blocked_reason"] == fields.get("blocked_reason")
    last = fakes.audit.rows[-1]
    assert (last.action, last.entity_id, last.actor_user_id) == (action, pending.id, str(ACTOR))
    assert last.metadata_json["billing_gate_result"] == result
    (recorded,) = uow.events_of("release_recorded")
    assert recorded["release"] == decided.model_dump()
    assert fakes.releases.announced == [pending.id]  # wakes the waiting request at commit
    assert uow.commits == 0  # the consumer commits with its inbox row


async def test_a_second_outcome_changes_nothing(fakes: FactoryFakes, pending: ReleaseRecord) -> None:
    await record_gate_outcome(fakes.uow(), RecordGateOutcome(given.gate_decided(pending.id, "PAID")))
    first = fakes.releases.rows[pending.id]
    audit_rows = len(fakes.audit.rows)
    uow = fakes.uow()
    await record_gate_outcome(uow, RecordGateOutcome(given.gate_decided(pending.id, "BLOCKED")))
    assert fakes.releases.rows[pending.id] == first
    assert len(fakes.audit.rows) == audit_rows
    assert uow.published == []
    assert fakes.releases.announced == [pending.id]  # announced once, by the first outcome


@pytest.mark.parametrize("release_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000009"])
async def test_an_outcome_for_an_unknown_release_is_dropped(
    fakes: FactoryFakes, pending: ReleaseRecord, release_id: str
) -> None:
    uow = fakes.uow()
    await record_gate_outcome(uow, RecordGateOutcome(given.gate_decided(release_id)))
    assert fakes.releases.rows[pending.id].billing_gate_result == "PENDING"
    assert uow.published == []
    assert fakes.releases.announced == []
