"""The bridge's own copy of the event schemas against V2's committed AsyncAPI snapshot.

The bridge does not import V2's ``shared`` contracts (V1 embeds it without V2's libraries), so this
test is what keeps the copy true: what the bridge publishes must validate against the snapshot's
``V1UsageEventEnvelope``, and every field the snapshot requires of ``AccountStatus`` must be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from v1_bridge.contracts import (
    ACCOUNT_STATUS,
    BILLING_ACCOUNT_STATUS,
    V1_BILLING_EVENTS,
    V1_USAGE_EVENT,
    AccountStatusEvent,
    Envelope,
    V1UsageEvent,
)
from v1_bridge.sources import TopicStatusSource

ACCOUNT = "6b0c6d55-2d6d-4f4a-9f0a-0c1d2e3f4a5b"
SNAPSHOT = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.json"


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return document


def validator(asyncapi: dict[str, Any], schema: str) -> Any:
    """A validator of ``#/components/schemas/<schema>`` with the snapshot's refs resolvable."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": asyncapi["components"]}
    return jsonschema_rs.validator_for(root)


def test_the_topics_and_types_exist_in_the_snapshot(asyncapi: dict[str, Any]) -> None:
    messages = asyncapi["components"]["messages"]
    assert f"{V1_BILLING_EVENTS}.{V1_USAGE_EVENT}" in messages
    assert f"{BILLING_ACCOUNT_STATUS}.{ACCOUNT_STATUS}" in messages


def test_what_the_bridge_publishes_validates_against_the_snapshot(asyncapi: dict[str, Any]) -> None:
    event = V1UsageEvent(
        event_type="work_accepted",
        external_account_key="v1:partner:77",
        idempotency_key="v1:work_accepted:commission:12",
        payload_json={"commission_request_id": "12", "fees": "1500.00"},
    )
    envelope = json.loads(Envelope.of_usage_event(event).to_bytes())
    errors = [e.message for e in validator(asyncapi, "V1UsageEventEnvelope").iter_errors(envelope)]
    assert errors == []
    assert envelope["aggregate_id"] == "v1:partner:77"
    assert envelope["occurred_at"].endswith("Z")


def test_a_resent_event_is_the_same_message() -> None:
    event = V1UsageEvent(event_type="x", external_account_key="v1:client:1", idempotency_key="k1")
    first, again = Envelope.of_usage_event(event), Envelope.of_usage_event(event)
    assert first.message_id == again.message_id
    other = V1UsageEvent(event_type="x", external_account_key="v1:client:1", idempotency_key="k2")
    assert Envelope.of_usage_event(other).message_id != first.message_id


def test_the_bridge_reads_every_field_the_snapshot_requires(asyncapi: dict[str, Any]) -> None:
    schemas = asyncapi["components"]["schemas"]
    for name, model in (("AccountStatus", AccountStatusEvent), ("V1UsageEvent", V1UsageEvent)):
        required = set(schemas[name]["required"])
        assert required <= set(model.model_fields), name
        assert set(schemas[name]["properties"]) <= set(model.model_fields), name


def test_a_snapshot_valid_account_status_is_taken_into_the_table(asyncapi: dict[str, Any]) -> None:
    payload = {
        "account_id": ACCOUNT,
        "tenant_id": None,
        "external_key": "v1:partner:77",
        "account_type": "EXTERNAL_ASSOCIATE",
        "display_name": "Partner 77",
        "status": "ACTIVE",
        "billing_mode": "CREDIT",
        "credit": {"wallet": 3, "reserved": 1, "available": 2},
    }
    assert list(validator(asyncapi, "AccountStatus").iter_errors(payload)) == []
    record = {
        "message_id": "m",
        "type": ACCOUNT_STATUS,
        "occurred_at": "2026-01-01T00:00:00.000Z",
        "aggregate_id": ACCOUNT,
        "aggregate_version": 3,
        "payload": payload,
    }
    source = TopicStatusSource("unused:9092")
    source.apply(json.dumps(record).encode())
    source.apply(b"not json")
    source.apply(json.dumps({**record, "type": "something_else", "payload": {}}).encode())
    assert source.caught_up is False
    by_key, by_id = source.known("v1:partner:77"), source.known(ACCOUNT)
    assert by_key is not None
    assert by_key["account_status"] == "ACTIVE"
    assert by_id == by_key
    assert by_key["credit"] == {"wallet": 3, "reserved": 1, "available": 2}
