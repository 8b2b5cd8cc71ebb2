"""The committed AsyncAPI snapshot and the compatibility check (architecture §3, issue 4 item 1).

When you add a field or an event: ``uv run python -m shared.contracts.asyncapi --write`` and commit
``docs/asyncapi.json``. These tests then prove the snapshot is current, that the models are compatible with
it, and that the check really catches each kind of breaking change (on deliberately broken copies of the
models) while letting the allowed ones through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

import pytest
from pydantic import create_model
from pydantic.fields import FieldInfo

from shared.contracts import EVENTS, Contract, Event, asyncapi
from shared.contracts.asyncapi import (
    ContractCatalogueError,
    build_asyncapi,
    load_snapshot,
    main,
    render,
    snapshot_path,
)
from shared.contracts.billing import AccountStatus, GateDecided
from shared.contracts.compat import Incompatibility, check_compatibility, format_report
from shared.contracts.evidence import OcrRequested
from shared.contracts.factory import GenerationRequested, PackFailed
from shared.contracts.topics import ALL_TOPICS, COMPACTED_TOPICS
from shared.contracts.v1 import V1UsageEvent
from shared.contracts.workorders import (
    ReadinessChanged,
    StatusChanged,
    WorkOrderClosed,
    WorkOrderCreated,
    WorkOrderView,
)
from shared.messaging.envelope import Envelope

REGENERATE = "uv run python -m shared.contracts.asyncapi --write"


# ------------------------------------------------------------------------------------------- helpers


def variant(
    model: type[Any],
    *,
    drop: tuple[str, ...] = (),
    fields: dict[str, Any] | None = None,
    base: type[Any] = Event,
) -> type[Any]:
    """A copy of ``model`` (same name, topic and type) with fields dropped, replaced or added."""
    definitions: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name not in drop
    }
    definitions.update(fields or {})
    copy: Any = cast(Any, create_model(model.__name__, __base__=base, __doc__=model.__doc__, **definitions))
    if issubclass(base, Event):
        copy.TOPIC = model.TOPIC
        copy.TYPE = model.TYPE
    return cast("type[Any]", copy)


def with_replaced(*replacements: type[Event], drop: tuple[type[Event], ...] = ()) -> list[type[Event]]:
    """The registry with some events swapped for variants (matched on topic + type) or dropped."""
    by_key = {(m.TOPIC, m.TYPE): m for m in replacements}
    out = [by_key.pop((m.TOPIC, m.TYPE), m) for m in EVENTS if m not in drop]
    return out + list(by_key.values())  # replacements that match nothing are new event types


def problems_against_current(
    *events: type[Event], drop: tuple[type[Event], ...] = ()
) -> list[Incompatibility]:
    """Incompatibilities from the document of the real models to one with the given variants."""
    return check_compatibility(CURRENT, build_asyncapi(with_replaced(*events, drop=drop)))


def kinds(problems: list[Incompatibility]) -> set[tuple[str, str | None, str | None, str]]:
    return {(p.topic, p.event, p.path, p.kind) for p in problems}


CURRENT = build_asyncapi()
WO = "workorders.work-order.v1"


# ------------------------------------------------------------------------------- the committed snapshot


def test_committed_snapshot_matches_the_models() -> None:
    path = snapshot_path()
    assert path.exists(), f"{path} is missing: run `{REGENERATE}`"
    assert path.read_text(encoding="utf-8") == render(), (
        f"docs/asyncapi.json is stale: run `{REGENERATE}` and commit it"
    )


def test_models_are_compatible_with_committed_snapshot() -> None:
    problems = check_compatibility(load_snapshot(), CURRENT)
    assert problems == [], format_report(problems)


def test_generation_is_deterministic() -> None:
    assert render() == render()
    assert render(reversed(EVENTS)) == render()


# ---------------------------------------------------------------------------------- document content


def test_every_topic_is_a_channel_with_its_key_and_every_event_a_message() -> None:
    channels = CURRENT["channels"]
    assert set(channels) == set(ALL_TOPICS)
    for topic in ALL_TOPICS:
        key = asyncapi.TOPIC_KEYS[topic]
        assert channels[topic]["address"] == topic
        assert channels[topic]["x-zenops-key"] == key
        assert f"Key: {key}." in channels[topic]["description"]
        compaction = channels[topic]["bindings"]["kafka"].get("topicConfiguration")
        assert (compaction == {"cleanup.policy": ["compact"]}) == (topic in COMPACTED_TOPICS)
        operation = CURRENT["operations"][topic]
        assert operation["action"] == "send"
        assert len(operation["messages"]) == len(channels[topic]["messages"])
    for model in EVENTS:
        ref = CURRENT["channels"][model.TOPIC]["messages"][model.TYPE]["$ref"]
        message = CURRENT["components"]["messages"][ref.rsplit("/", 1)[1]]
        assert message["name"] == model.TYPE
        assert (
            message["bindings"]["kafka"]["key"]["description"] == f"The {asyncapi.TOPIC_KEYS[model.TOPIC]}."
        )
        envelope = CURRENT["components"]["schemas"][message["payload"]["$ref"].rsplit("/", 1)[1]]
        assert set(envelope["properties"]) == set(Envelope.model_fields)
        assert envelope["properties"]["type"]["const"] == model.TYPE
        assert envelope["properties"]["payload"] == {
            "$ref": f"#/components/schemas/{model.__name__}",
            "description": asyncapi.ENVELOPE_FIELD_DOCS["payload"],
        }
        payload = CURRENT["components"]["schemas"][model.__name__]
        assert set(payload["properties"]) == set(model.model_fields)


def test_every_envelope_field_is_documented() -> None:
    assert set(asyncapi.ENVELOPE_FIELD_DOCS) == set(Envelope.model_fields)


def test_money_fields_are_integer_minor_units_with_a_currency() -> None:
    money_seen = 0
    for name, schema in CURRENT["components"]["schemas"].items():
        properties = schema.get("properties", {})
        for field, sub in properties.items():
            if field.endswith("_minor"):
                money_seen += 1
                assert sub["type"] == "integer", f"{name}.{field} must be integer minor units"
                assert sub["x-zenops-money"] == "minor-units"
                assert "currency" in properties, f"{name}.{field} needs a sibling currency"
            # A float anywhere in an event contract is almost certainly money done wrong.
            assert sub.get("type") != "number", f"{name}.{field} is a float"
    assert money_seen >= 2  # InvoiceState.total_minor and amount_due_minor at least


def test_a_topic_without_a_key_is_refused() -> None:
    class OrphanRequested(Event):
        """A test-only event on a topic nobody gave a key."""

        TOPIC: ClassVar[str] = "factory.orphans.v1"
        TYPE: ClassVar[str] = "orphan_requested"

        job_id: str

    with pytest.raises(ContractCatalogueError, match=r"factory\.orphans\.v1.*no key"):
        build_asyncapi([*EVENTS, OrphanRequested])


def test_a_duplicate_event_type_is_refused() -> None:
    with pytest.raises(ContractCatalogueError, match="declared twice"):
        build_asyncapi([*EVENTS, variant(WorkOrderClosed)])


def test_two_different_models_with_one_name_are_refused() -> None:
    # Same class name as the workorders model, different shape, on another topic: FastStream would merge
    # both into components/schemas/WorkOrderView and silently keep one.
    clash = variant(WorkOrderView, drop=("bank_name",), base=Contract)
    other = variant(OcrRequested, fields={"view": (clash, FieldInfo(default=None))})
    with pytest.raises(ContractCatalogueError, match="WorkOrderView"):
        build_asyncapi(with_replaced(other))


# ---------------------------------------------------------------------- the check fails on breakage


def test_removed_nested_field_is_reported() -> None:
    broken_view = variant(WorkOrderView, drop=("bank_name",), base=Contract)
    broken = variant(WorkOrderCreated, fields={"work_order": (broken_view, FieldInfo())})
    problems = problems_against_current(broken)
    assert kinds(problems) == {(WO, "created", "payload.work_order.bank_name", "field removed")}
    assert (
        "workorders.work-order.v1 / created / payload.work_order.bank_name: field removed"
        in format_report(problems)
    )


def test_renamed_field_is_a_removal_plus_a_required_addition() -> None:
    broken = variant(GenerationRequested, drop=("job_id",), fields={"generation_job_id": (str, FieldInfo())})
    assert kinds(problems_against_current(broken)) == {
        ("factory.generation-jobs.v1", "generation_requested", "payload.job_id", "field removed"),
        (
            "factory.generation-jobs.v1",
            "generation_requested",
            "payload.generation_job_id",
            "required field added",
        ),
    }


def test_changed_type_is_reported() -> None:
    broken = variant(ReadinessChanged, fields={"evidence_version": (str, FieldInfo())})
    problems = problems_against_current(broken)
    assert kinds(problems) == {(WO, "readiness_changed", "payload.evidence_version", "type changed")}
    assert "integer -> string" in problems[0].detail


def test_changed_item_type_inside_a_list_is_reported() -> None:
    broken = variant(GateDecided, fields={"ledger_entry_ids": (list[int], FieldInfo(default=[]))})
    assert kinds(problems_against_current(broken)) == {
        ("billing.gate-outcome.v1", "gate_decided", "payload.ledger_entry_ids[]", "type changed")
    }


def test_becoming_nullable_is_a_type_change() -> None:
    broken = variant(AccountStatus, fields={"external_key": (str | None, FieldInfo())})
    problems = problems_against_current(broken)
    assert kinds(problems) == {
        ("billing.account-status.v1", "account_status", "payload.external_key", "type changed")
    }
    assert "became nullable" in problems[0].detail


def test_optional_field_becoming_required_is_reported() -> None:
    broken = variant(PackFailed, fields={"pack_id": (str | None, FieldInfo())})
    assert kinds(problems_against_current(broken)) == {
        ("factory.pack.v1", "pack_failed", "payload.pack_id", "optional field became required")
    }


def test_required_field_added_to_an_existing_event_is_reported() -> None:
    broken = variant(GenerationRequested, fields={"priority": (int, FieldInfo())})
    assert kinds(problems_against_current(broken)) == {
        ("factory.generation-jobs.v1", "generation_requested", "payload.priority", "required field added")
    }


def test_removed_enum_values_are_reported() -> None:
    narrower = Literal["DRAFT", "EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER", "CANCELLED"]
    broken = variant(StatusChanged, fields={"to_status": (narrower, FieldInfo())})
    problems = problems_against_current(broken)
    assert kinds(problems) == {(WO, "status_changed", "payload.to_status", "enum values removed")}
    assert problems[0].detail == "CLOSED"


def test_removed_event_type_is_reported() -> None:
    assert kinds(problems_against_current(drop=(WorkOrderClosed,))) == {
        (WO, "closed", None, "event type removed")
    }


def test_removed_topic_is_reported() -> None:
    assert kinds(problems_against_current(drop=(V1UsageEvent,))) == {
        ("v1.billing-events.v1", None, None, "topic removed")
    }


def test_changed_message_key_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(asyncapi.TOPIC_KEYS, "evidence.ocr-jobs.v1", "work order id")
    assert kinds(check_compatibility(CURRENT, build_asyncapi())) == {
        ("evidence.ocr-jobs.v1", None, None, "message key changed")
    }


def test_envelope_changes_are_checked_too() -> None:
    snapshot = json.loads(json.dumps(CURRENT))
    envelope = snapshot["components"]["schemas"]["WorkOrderCreatedEnvelope"]
    envelope["properties"]["legacy_flag"] = {"type": "boolean"}
    envelope["required"].append("legacy_flag")
    assert kinds(check_compatibility(snapshot, CURRENT)) == {(WO, "created", "legacy_flag", "field removed")}


# ------------------------------------------------------------------------------- allowed evolutions


def test_new_optional_field_is_allowed() -> None:
    grown = variant(WorkOrderClosed, fields={"reason_code": (str | None, FieldInfo(default=None))})
    assert problems_against_current(grown) == []


def test_new_event_type_is_allowed() -> None:
    class WorkOrderArchived(Event):
        """A test-only event type."""

        TOPIC: ClassVar[str] = WO
        TYPE: ClassVar[str] = "archived"

        work_order_id: str

    assert problems_against_current(WorkOrderArchived) == []


def test_new_topic_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    class PackV2Created(Event):
        """A test-only event on a new topic version."""

        TOPIC: ClassVar[str] = "factory.pack.v2"
        TYPE: ClassVar[str] = "pack_created"

        pack_id: str

    monkeypatch.setitem(asyncapi.TOPIC_KEYS, "factory.pack.v2", "work order id")
    assert problems_against_current(PackV2Created) == []


def test_new_enum_values_are_allowed() -> None:
    wider = Literal[
        "DRAFT", "EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER", "CANCELLED", "CLOSED", "ARCHIVED"
    ]
    grown = variant(StatusChanged, fields={"to_status": (wider, FieldInfo())})
    assert problems_against_current(grown) == []


def test_required_field_becoming_optional_is_allowed() -> None:
    # Producers serialise defaults, so the field stays on the wire for old readers.
    relaxed = variant(OcrRequested, fields={"work_order_id": (str, FieldInfo(default=""))})
    assert problems_against_current(relaxed) == []


def test_documentation_changes_are_allowed() -> None:
    snapshot = json.loads(json.dumps(CURRENT))
    snapshot["components"]["schemas"]["WorkOrderView"]["description"] = "old words"
    snapshot["info"]["description"] = "old words"
    assert check_compatibility(snapshot, CURRENT) == []


# -------------------------------------------------------------------------------------------- the CLI


def _write(path: Path, events: list[type[Event]]) -> None:
    path.write_text(render(events), encoding="utf-8")


@pytest.mark.usefixtures("capsys")
def test_cli_check_passes_on_the_committed_snapshot() -> None:
    assert main(["--check"]) == 0


def test_cli_check_fails_and_write_refuses_an_incompatible_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The snapshot knows a required field the current models no longer have.
    snapshot = tmp_path / "asyncapi.json"
    _write(snapshot, with_replaced(variant(GenerationRequested, fields={"priority": (int, FieldInfo())})))
    before = snapshot.read_text(encoding="utf-8")

    assert main(["--check", "--snapshot", str(snapshot)]) == 1
    assert "generation_requested / payload.priority: field removed" in capsys.readouterr().err

    assert main(["--write", "--snapshot", str(snapshot)]) == 1
    assert "refusing" in capsys.readouterr().err
    assert snapshot.read_text(encoding="utf-8") == before

    assert main(["--write", "--force", "--snapshot", str(snapshot)]) == 0
    assert snapshot.read_text(encoding="utf-8") == render()


def test_cli_check_fails_on_a_stale_but_compatible_snapshot_and_write_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The current models have an optional field the snapshot lacks: compatible, but not yet published.
    snapshot = tmp_path / "asyncapi.json"
    _write(snapshot, with_replaced(variant(PackFailed, drop=("attempts",))))

    assert main(["--check", "--snapshot", str(snapshot)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--write", "--snapshot", str(snapshot)]) == 0
    assert main(["--check", "--snapshot", str(snapshot)]) == 0
