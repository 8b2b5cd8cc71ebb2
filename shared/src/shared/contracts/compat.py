"""Compatibility of two AsyncAPI catalogue documents inside a topic version (architecture §3).

Within ``<topic>.vN`` messages written under the old contract stay in Kafka (compacted topics keep them
for ever) and are read by new code, and old code reads messages of the new contract. So both directions
must hold, which gives the rules checked here, field by field through nested objects, arrays and maps:

* incompatible: a topic or event type removed, the message key changed, a field removed (a rename is a
  removal plus an addition), a field's type changed (including becoming or ceasing to be nullable, or
  changing its JSON schema ``format``), a previously optional field becoming required, a required field
  added to an existing event, enum values removed;
* allowed: new topics, new event types, new optional fields, new enum values, a required field becoming
  optional (our producers always serialise defaults, so the field stays on the wire), documentation.

The comparison works on resolved JSON schemas, not on the document layout, so regenerating the snapshot
with another FastStream release does not produce false alarms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NULL = "null"


@dataclass(frozen=True, order=True)
class Incompatibility:
    """One incompatible change: where (topic, event type, field path) and what."""

    topic: str
    event: str | None
    path: str | None
    kind: str
    detail: str

    def __str__(self) -> str:
        where = self.topic
        if self.event is not None:
            where += f" / {self.event}"
        if self.path:
            where += f" / {self.path}"
        return f"{where}: {self.kind}: {self.detail}"


def format_report(problems: list[Incompatibility]) -> str:
    """A human report of ``problems``, one per line, stable order."""
    lines = [f"{len(problems)} incompatible contract change(s) inside a topic version:"]
    lines += [f"  - {p}" for p in sorted(problems)]
    lines.append(
        "Fields may only be added (optional) within a topic version; otherwise publish a vN+1 topic."
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    """A JSON schema reduced to what matters for compatibility."""

    kind: str  # object | map | array | enum | scalar | union | any | recursive
    nullable: bool = False
    type: str | None = None  # scalar / enum base type
    format: str | None = None
    values: frozenset[str] = frozenset()  # enum values (JSON-encoded)
    properties: tuple[tuple[str, Shape], ...] = ()
    required: frozenset[str] = frozenset()
    item: Shape | None = None  # array items / map values
    branches: tuple[str, ...] = ()  # union: canonical text of each branch
    name: str | None = None  # recursive: the schema name

    def describe(self) -> str:
        """Short human text of the type, e.g. ``string``, ``array of integer``, ``integer | null``."""
        if self.kind == "object":
            text = "object"
        elif self.kind == "map":
            text = f"map of {self.item.describe() if self.item else 'any'}"
        elif self.kind == "array":
            text = f"array of {self.item.describe() if self.item else 'any'}"
        elif self.kind == "enum":
            text = f"enum {sorted(self.values)}"
        elif self.kind == "scalar":
            text = f"{self.type}" + (f" ({self.format})" if self.format else "")
        elif self.kind == "union":
            text = " | ".join(self.branches)
        elif self.kind == "recursive":
            text = f"{self.name}"
        else:
            text = "any"
        return f"{text} | null" if self.nullable else text


class _Resolver:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def deref(self, ref: str) -> tuple[str, Mapping[str, Any]]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, got {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return ref, node

    def shape(self, schema: Mapping[str, Any], stack: tuple[str, ...] = ()) -> Shape:
        if "$ref" in schema:
            ref, target = self.deref(schema["$ref"])
            if ref in stack:
                return Shape(kind="recursive", name=ref.rsplit("/", 1)[1])
            return self.shape(target, (*stack, ref))
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                return self._union(schema[combinator], stack)
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.shape(schema["allOf"][0], stack)
        if "const" in schema or "enum" in schema:
            values = [schema["const"]] if "const" in schema else list(schema["enum"])
            nullable = None in values
            base = schema.get("type")
            return Shape(
                kind="enum",
                nullable=nullable,
                type=base if isinstance(base, str) else None,
                values=frozenset(json.dumps(v, sort_keys=True) for v in values if v is not None),
            )
        declared = schema.get("type")
        if isinstance(declared, list):
            non_null = [x for x in declared if x != _NULL]
            inner = self.shape({**schema, "type": non_null[0]} if len(non_null) == 1 else {}, stack)
            return _with_nullable(inner, _NULL in declared)
        if declared == "object":
            if "properties" in schema:
                props = tuple(
                    sorted((name, self.shape(sub, stack)) for name, sub in schema["properties"].items())
                )
                return Shape(kind="object", properties=props, required=frozenset(schema.get("required", [])))
            extra = schema.get("additionalProperties", True)
            item = self.shape(extra, stack) if isinstance(extra, Mapping) else Shape(kind="any")
            return Shape(kind="map", item=item)
        if declared == "array":
            items = schema.get("items")
            return Shape(kind="array", item=self.shape(items, stack) if items else Shape(kind="any"))
        if declared is None:
            return Shape(kind="any")
        if declared == _NULL:
            return Shape(kind="enum", nullable=True)
        return Shape(kind="scalar", type=str(declared), format=schema.get("format"))

    def _union(self, options: list[Mapping[str, Any]], stack: tuple[str, ...]) -> Shape:
        shapes = [self.shape(o, stack) for o in options]
        nullable = any(s.kind == "enum" and s.nullable and not s.values for s in shapes)
        rest = [s for s in shapes if not (s.kind == "enum" and s.nullable and not s.values)]
        if len(rest) == 1:
            return _with_nullable(rest[0], nullable or rest[0].nullable)
        if not rest:
            return Shape(kind="enum", nullable=True)
        return Shape(kind="union", nullable=nullable, branches=tuple(sorted(_canonical(s) for s in rest)))


def _with_nullable(shape: Shape, nullable: bool) -> Shape:
    return Shape(**{**shape.__dict__, "nullable": nullable})


def _canonical(shape: Shape) -> str:
    """Stable text of a shape, used to compare union branches as a set."""
    if shape.kind == "object":
        inner = ",".join(
            f"{name}{'!' if name in shape.required else '?'}:{_canonical(sub)}"
            for name, sub in shape.properties
        )
        text = "{" + inner + "}"
    elif shape.kind in {"array", "map"}:
        text = f"{shape.kind}<{_canonical(shape.item) if shape.item else 'any'}>"
    else:
        text = shape.describe()
    return f"{text}?" if shape.nullable and shape.kind in {"object", "array", "map"} else text


# ------------------------------------------------------------------------------------------ comparison


class _Comparer:
    def __init__(self, topic: str, event: str) -> None:
        self.topic = topic
        self.event = event
        self.problems: list[Incompatibility] = []

    def report(self, path: str, kind: str, detail: str) -> None:
        self.problems.append(Incompatibility(self.topic, self.event, path or "(message)", kind, detail))

    def compare(self, old: Shape, new: Shape, path: str) -> None:
        if old.nullable != new.nullable:
            change = "became nullable" if new.nullable else "is no longer nullable"
            self.report(path, "type changed", f"{old.describe()} -> {new.describe()} ({change})")
            return
        if old.kind != new.kind:
            self.report(path, "type changed", f"{old.describe()} -> {new.describe()}")
            return
        if old.kind == "scalar":
            if (old.type, old.format) != (new.type, new.format):
                self.report(path, "type changed", f"{old.describe()} -> {new.describe()}")
        elif old.kind == "enum":
            if old.type != new.type and old.type is not None and new.type is not None:
                self.report(path, "type changed", f"{old.type} -> {new.type}")
            removed = old.values - new.values
            if removed:
                self.report(path, "enum values removed", ", ".join(sorted(json.loads(v) for v in removed)))
        elif old.kind in {"array", "map"}:
            marker = "[]" if old.kind == "array" else "{}"
            self.compare(old.item or Shape(kind="any"), new.item or Shape(kind="any"), f"{path}{marker}")
        elif old.kind == "union":
            if old.branches != new.branches:
                self.report(path, "type changed", f"{old.describe()} -> {new.describe()}")
        elif old.kind == "recursive":
            if old.name != new.name:
                self.report(path, "type changed", f"{old.describe()} -> {new.describe()}")
        elif old.kind == "object":
            self._compare_object(old, new, path)

    def _compare_object(self, old: Shape, new: Shape, path: str) -> None:
        old_props = dict(old.properties)
        new_props = dict(new.properties)
        prefix = f"{path}." if path else ""
        for name, old_sub in old_props.items():
            where = f"{prefix}{name}"
            if name not in new_props:
                self.report(where, "field removed", f"was {old_sub.describe()} (a rename is a removal)")
                continue
            if name not in old.required and name in new.required:
                self.report(where, "optional field became required", new_props[name].describe())
            self.compare(old_sub, new_props[name], where)
        for name, new_sub in new_props.items():
            if name not in old_props and name in new.required:
                self.report(
                    f"{prefix}{name}", "required field added", f"{new_sub.describe()} (add it as optional)"
                )


# --------------------------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class _Event:
    shape: Shape


@dataclass(frozen=True)
class _Topic:
    key: str | None
    events: dict[str, _Event]


def _catalogue(document: Mapping[str, Any]) -> dict[str, _Topic]:
    resolver = _Resolver(document)
    catalogue: dict[str, _Topic] = {}
    for channel_id, channel in document.get("channels", {}).items():
        topic = channel.get("address") or channel_id
        events: dict[str, _Event] = {}
        for message_id, message_ref in channel.get("messages", {}).items():
            message = resolver.deref(message_ref["$ref"])[1] if "$ref" in message_ref else message_ref
            event_type = message.get("name") or message_id
            events[event_type] = _Event(shape=resolver.shape(message["payload"]))
        catalogue[topic] = _Topic(key=channel.get("x-zenops-key"), events=events)
    return catalogue


def check_compatibility(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Incompatibility]:
    """Every incompatible change from the ``old`` catalogue document to the ``new`` one (empty = fine)."""
    before = _catalogue(old)
    after = _catalogue(new)
    problems: list[Incompatibility] = []
    for topic, old_topic in sorted(before.items()):
        new_topic = after.get(topic)
        if new_topic is None:
            problems.append(
                Incompatibility(topic, None, None, "topic removed", "retire it only with a vN+1 topic")
            )
            continue
        if old_topic.key != new_topic.key:
            problems.append(
                Incompatibility(
                    topic, None, None, "message key changed", f"{old_topic.key!r} -> {new_topic.key!r}"
                )
            )
        for event_type, old_event in sorted(old_topic.events.items()):
            new_event = new_topic.events.get(event_type)
            if new_event is None:
                problems.append(
                    Incompatibility(topic, event_type, None, "event type removed", "readers expect it")
                )
                continue
            comparer = _Comparer(topic, event_type)
            comparer.compare(old_event.shape, new_event.shape, "")
            problems.extend(comparer.problems)
    return sorted(problems)
