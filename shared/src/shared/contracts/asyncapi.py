"""The AsyncAPI 3.0 document of the topic catalogue, generated from the contract models (architecture §3).

FastStream generates the document: one ``KafkaBroker`` publisher per topic whose schema is the
discriminated union (on the envelope ``type``) of that topic's envelope models, each envelope model being
:class:`shared.messaging.envelope.Envelope` with ``type`` fixed to the event's ``TYPE`` and ``payload``
typed as the event model. FastStream 0.7 emits exactly one message per publisher (a union payload), while
the catalogue wants one message per event type, so :func:`build_asyncapi` then splits each channel's union
message into one AsyncAPI message per event type (the envelope schemas FastStream generated are reused
unchanged) and adds what FastStream has no parameter for: the message key (Kafka message binding), the
Kafka headers, compaction, and the money annotations.

The document is committed as ``docs/asyncapi.json`` and checked by ``tests/contracts``:

* the committed file must equal what the models generate — after adding a field or an event run
  ``uv run python -m shared.contracts.asyncapi --write`` and commit the result;
* the models must stay compatible with the committed snapshot (:mod:`shared.contracts.compat`);
  ``--write`` refuses to overwrite the snapshot with an incompatible change (``--force`` only when a
  topic version is deliberately retired).

CLI: ``python -m shared.contracts.asyncapi`` prints the document, ``--check`` exits 1 when the snapshot is
stale or incompatible, ``--write`` regenerates it.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from shared.contracts import EVENTS, Event
from shared.contracts import topics as t
from shared.messaging.envelope import Envelope

ASYNCAPI_VERSION = "3.0.0"
# The catalogue's own version: bump the major only together with a topic vN+1 that retires a topic.
CATALOGUE_VERSION = "1.0.0"
DEV_SERVER = "localhost:9092"

# The message key of each topic (architecture §3.1). Every topic must name one: it decides partitioning,
# ordering and (for compacted topics) what "the newest record" means, so changing it is breaking.
TOPIC_KEYS: dict[str, str] = {
    t.WORKORDERS_WORK_ORDER: "work order id",
    t.EVIDENCE_WORK_ORDER_EVIDENCE: "work order id",
    t.EVIDENCE_OCR_JOBS: "OCR job id",
    t.EVIDENCE_DOCUMENTS: "document id",
    t.BILLING_WORK_ORDER_BILLING: "work order id",
    t.BILLING_GATE_OUTCOME: "work order id",
    t.BILLING_ACCOUNT_STATUS: "billing account id",
    t.FACTORY_PACK: "work order id",
    t.FACTORY_RELEASE_REQUESTED: "work order id",
    t.FACTORY_GENERATION_JOBS: "generation job id",
    t.V1_BILLING_EVENTS: "external billing account key",
}

# Kept next to the envelope model (not in it) so the wire model stays free of documentation concerns; a
# test asserts every envelope field is described here.
ENVELOPE_FIELD_DOCS: dict[str, str] = {
    "message_id": "Unique id of this message (uuid); the consumer inbox deduplicates on it.",
    "type": "The event type: selects the payload schema within the topic.",
    "version": "Payload schema version within the topic version (1).",
    "occurred_at": "When the event was recorded: ISO-8601 UTC with milliseconds (2024-01-31T10:00:00.000Z).",
    "tenant_id": "Tenant the aggregate belongs to (null only for tenant-less records).",
    "aggregate_id": "Id of the aggregate the event is about; equals the message key.",
    "aggregate_version": (
        "Version of the aggregate after this event, monotonic per publisher and key; readers drop "
        "anything not newer than what they already reflect."
    ),
    "correlation_id": "Id shared by every message of one request or saga.",
    "causation_id": "message_id of the message that caused this one (null when caused by an HTTP request).",
    "traceparent": "W3C trace context of the producing span (also sent as a Kafka header).",
    "payload": "The event payload.",
}

MONEY_SUFFIX = "_minor"
MONEY_DOC = (
    "Money: integer minor units (paise) of the `currency` field of the same object; never a float. "
    "At the HTTP edge the same amount is a JSON number with at most 2 decimals."
)
CURRENCY_DOC = "ISO 4217 currency code of the `*_minor` amounts in this object."
MONEY_EXTENSION = "x-zenops-money"
KEY_EXTENSION = "x-zenops-key"

DESCRIPTION = """\
Event catalogue of the ZenOps Repogen platform (architecture §3). Topics are named
`<producer>.<subject>.v<N>`; inside a topic version fields are only added and readers ignore unknown
fields, a breaking change makes a new `vN+1` topic. Every topic has a `<topic>.dlq`. The Kafka message
value is the JSON envelope described by each message; its `type` selects the payload. Money is integer
minor units plus currency. Generated from `shared.contracts` by `python -m shared.contracts.asyncapi`."""


class ContractCatalogueError(ValueError):
    """The contract models cannot be published as one consistent catalogue."""


def snapshot_path() -> Path:
    """``docs/asyncapi.json`` of the repository this package is checked out in."""
    # shared/src/shared/contracts/asyncapi.py -> repository root is five levels up.
    return Path(__file__).resolve().parents[4] / "docs" / "asyncapi.json"


def _events_by_topic(events: Iterable[type[Event]]) -> dict[str, list[type[Event]]]:
    by_topic: dict[str, list[type[Event]]] = {}
    seen: set[tuple[str, str]] = set()
    for model in events:
        if (model.TOPIC, model.TYPE) in seen:
            raise ContractCatalogueError(f"{model.TOPIC}: event type {model.TYPE!r} is declared twice")
        seen.add((model.TOPIC, model.TYPE))
        by_topic.setdefault(model.TOPIC, []).append(model)
    return by_topic


def envelope_model(event: type[Event], key: str) -> type[BaseModel]:
    """The envelope of ``event`` as a model: :class:`Envelope` with ``type`` and ``payload`` pinned."""
    fields: dict[str, Any] = {}
    for name, info in Envelope.model_fields.items():
        fields[name] = (
            info.annotation,
            FieldInfo.merge_field_infos(info, description=ENVELOPE_FIELD_DOCS[name]),
        )
    fields["type"] = (Literal[event.TYPE], Field(description=ENVELOPE_FIELD_DOCS["type"]))
    fields["payload"] = (event, Field(description=ENVELOPE_FIELD_DOCS["payload"]))
    fields["aggregate_id"] = (
        str,
        Field(description=f"{ENVELOPE_FIELD_DOCS['aggregate_id']} Here: the {key}."),
    )
    model: type[BaseModel] = create_model(
        f"{event.__name__}Envelope",
        __base__=Envelope,
        __doc__=f"Envelope of `{event.TYPE}` on `{event.TOPIC}` (key: {key}).",
        **fields,
    )
    return model


def _topic_schema(envelopes: Sequence[type[BaseModel]]) -> Any:
    if len(envelopes) == 1:
        return envelopes[0]
    return Annotated[Union[tuple(envelopes)], Field(discriminator="type")]  # noqa: UP007 - runtime tuple


def _nested_models(annotation: Any, found: set[type[BaseModel]]) -> None:
    """Every pydantic model reachable from ``annotation`` (through unions, lists, dicts, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for info in annotation.model_fields.values():
            _nested_models(info.annotation, found)
        return
    for arg in get_args(annotation):
        _nested_models(arg, found)


def _check_unique_schema_names(events: Iterable[type[Event]]) -> None:
    """FastStream merges the schemas of all topics into one namespace by class name and silently keeps
    one of two namesakes, so two different contract classes must never share a name."""
    found: set[type[BaseModel]] = set()
    for event in events:
        _nested_models(event, found)
    by_name: dict[str, type[BaseModel]] = {}
    for found_model in sorted(found, key=lambda m: (m.__name__, m.__module__)):
        other = by_name.setdefault(found_model.__name__, found_model)
        if other is not found_model:
            raise ContractCatalogueError(
                f"two different contract models are named {found_model.__name__!r} "
                f"({other.__module__} and {found_model.__module__}); rename one"
            )


def _faststream_document(by_topic: dict[str, list[type[Event]]]) -> dict[str, Any]:
    broker = KafkaBroker(DEV_SERVER, description="Development broker started by `python -m devstack up`.")
    for topic in sorted(by_topic):
        key = TOPIC_KEYS.get(topic)
        if key is None:
            raise ContractCatalogueError(
                f"topic {topic!r} has no key in shared.contracts.asyncapi.TOPIC_KEYS"
            )
        schema = _topic_schema([envelope_model(m, key) for m in by_topic[topic]])
        broker.publisher(topic, title=topic, description=_channel_description(topic, key), schema=schema)
    spec = AsyncAPI(
        broker,
        title="ZenOps Repogen events",
        version=CATALOGUE_VERSION,
        description=DESCRIPTION,
        schema_version=ASYNCAPI_VERSION,
    )
    with warnings.catch_warnings():
        # An overwrite inside FastStream means two things share a name: never acceptable here.
        warnings.simplefilter("error", RuntimeWarning)
        document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def _channel_description(topic: str, key: str) -> str:
    compacted = " Compacted: only the newest record per key is kept." if topic in t.COMPACTED_TOPICS else ""
    return f"Key: {key}. Dead letters: `{t.dlq(topic)}`.{compacted}"


def _message_name(topic: str, event_type: str) -> str:
    # Component keys must match ^[a-zA-Z0-9.\-_]+$ (AsyncAPI 3), hence no ':' as FastStream uses.
    return f"{topic}.{event_type}"


def _split_messages(document: dict[str, Any], by_topic: dict[str, list[type[Event]]]) -> None:
    """Replace each channel's single union message by one message per event type."""
    components = document["components"]
    old_messages: dict[str, Any] = components.get("messages", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    messages: dict[str, Any] = {}
    for topic, models in by_topic.items():
        channel = document["channels"][topic]
        key = TOPIC_KEYS[topic]
        for ref in channel["messages"].values():
            union_message = old_messages[ref["$ref"].rsplit("/", 1)[1]]
            payload_ref: str = union_message["payload"]["$ref"]
            name = payload_ref.rsplit("/", 1)[1]
            if len(models) > 1:  # the union wrapper schema is replaced by the per-type messages
                schemas.pop(name, None)
        channel["messages"] = {}
        channel[KEY_EXTENSION] = key
        if topic in t.COMPACTED_TOPICS:
            channel["bindings"]["kafka"]["topicConfiguration"] = {"cleanup.policy": ["compact"]}
        for model in sorted(models, key=lambda m: m.TYPE):
            message_name = _message_name(topic, model.TYPE)
            envelope_schema = f"{model.__name__}Envelope"
            if envelope_schema not in schemas:  # pragma: no cover - FastStream layout changed
                raise ContractCatalogueError(f"FastStream did not emit the schema {envelope_schema}")
            messages[message_name] = {
                "name": model.TYPE,
                "title": f"{topic} {model.TYPE}",
                "summary": _summary(model),
                "contentType": "application/json",
                "payload": {"$ref": f"#/components/schemas/{envelope_schema}"},
                "headers": _headers_schema(model.TYPE),
                "correlationId": {
                    "description": "Shared by every message of one request or saga.",
                    "location": "$message.payload#/correlation_id",
                },
                "bindings": {
                    "kafka": {
                        "bindingVersion": "0.4.0",
                        "key": {"type": "string", "description": f"The {key}."},
                    }
                },
            }
            channel["messages"][model.TYPE] = {"$ref": f"#/components/messages/{message_name}"}
        document["operations"][topic] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"{topic.split('.', 1)[0]} publishes on {topic}",
            "messages": [
                {"$ref": f"#/channels/{topic}/messages/{event_type}"}
                for event_type in sorted(channel["messages"])
            ],
        }
    components["messages"] = messages


def _summary(model: type[Event]) -> str:
    doc = (model.__doc__ or "").strip()
    # Models without a docstring inherit Event's generic one, which says nothing about this event.
    if not doc or doc == (Event.__doc__ or "").strip():
        return f"`{model.TYPE}` on `{model.TOPIC}`."
    return doc.splitlines()[0]


def _headers_schema(event_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Kafka record headers set by the outbox relay.",
        "properties": {
            "type": {"type": "string", "const": event_type, "description": "Copy of the envelope type."},
            "traceparent": {"type": "string", "description": "W3C trace context (when a trace is active)."},
        },
        "required": ["type"],
    }


def _annotate_money(schemas: dict[str, Any]) -> None:
    """Document ``*_minor`` amounts (and their ``currency``) on every component schema."""
    for schema in schemas.values():
        properties: dict[str, Any] = schema.get("properties", {})
        money = [name for name in properties if name.endswith(MONEY_SUFFIX)]
        for name in money:
            properties[name]["description"] = MONEY_DOC
            properties[name][MONEY_EXTENSION] = "minor-units"
        if money and "currency" in properties:
            properties["currency"]["description"] = CURRENCY_DOC


def build_asyncapi(events: Iterable[type[Event]] = EVENTS) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``events`` (default: the whole registry) as a JSON-ready dict."""
    events = tuple(events)
    by_topic = _events_by_topic(events)
    _check_unique_schema_names(events)
    document = _faststream_document(by_topic)
    _split_messages(document, by_topic)
    _annotate_money(document["components"]["schemas"])
    return document


def dumps(document: dict[str, Any]) -> str:
    """The canonical text of a document: sorted keys, 2-space indent, trailing newline (stable diffs)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(events: Iterable[type[Event]] = EVENTS) -> str:
    """:func:`build_asyncapi` as canonical text."""
    return dumps(build_asyncapi(events))


def load_snapshot(path: Path | None = None) -> dict[str, Any]:
    """The committed snapshot."""
    loaded: dict[str, Any] = json.loads((path or snapshot_path()).read_text(encoding="utf-8"))
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    from shared.contracts.compat import check_compatibility, format_report

    parser = argparse.ArgumentParser(
        prog="python -m shared.contracts.asyncapi", description=__doc__.splitlines()[0]
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if the snapshot is stale or incompatible")
    mode.add_argument(
        "--write", action="store_true", help="regenerate the snapshot (refuses incompatible changes)"
    )
    parser.add_argument("--force", action="store_true", help="with --write: write even if incompatible")
    parser.add_argument(
        "--snapshot", type=Path, default=None, help="snapshot path (default docs/asyncapi.json)"
    )
    args = parser.parse_args(argv)
    path: Path = args.snapshot or snapshot_path()

    current = build_asyncapi()
    text = dumps(current)
    if not (args.check or args.write):
        sys.stdout.write(text)
        return 0

    problems = check_compatibility(load_snapshot(path), current) if path.exists() else []
    if problems:
        sys.stderr.write(format_report(problems) + "\n")
    if args.write:
        if problems and not args.force:
            sys.stderr.write("refusing to write an incompatible snapshot: add a vN+1 topic instead\n")
            return 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")
        return 0
    if not path.exists():
        sys.stderr.write(f"{path} is missing: run python -m shared.contracts.asyncapi --write\n")
        return 1
    if path.read_text(encoding="utf-8") != text:
        sys.stderr.write(f"{path} is stale: run python -m shared.contracts.asyncapi --write and commit it\n")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
