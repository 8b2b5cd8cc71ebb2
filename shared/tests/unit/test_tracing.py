"""Trace context propagation without a stack (issue 17), on an in-memory span exporter.

The outbox write is a child of the request and the envelope carries its context; the relay's publish
span is a child of that context and puts its own in the record headers; a consumer's handler span is a
child of the envelope's context the first time, and a child of the delivery with a LINK to the
envelope's context when the message is a duplicate, stale, retried or replayed; a failing handler's
span carries the error code and status ERROR; HTTP server spans (the FastAPI instrumentation) continue
the caller's trace, carry the request id, the work order and the error code, and answer the trace id
in ``x-trace-id``; background database calls outside any trace are not recorded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from starlette.types import Message

from shared.db.uow import UnitOfWork
from shared.errors import DomainError
from shared.http import TRACE_ID_HEADER, create_service_app
from shared.messaging.consumer import DUPLICATE, FIRST, REPLAY, ConsumerRunner, Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.relay import _record
from shared.settings import ServiceSettings
from shared.telemetry.tracing import (
    LINKED_TRACEPARENT,
    configure_tracing,
    current_traceparent,
    instrument_libraries,
)

_EXPORTER = InMemorySpanExporter()
configure_tracing("tracing-unit-test", extra_processor=SimpleSpanProcessor(_EXPORTER))
_tracer = trace.get_tracer("tests")

WO = "6f1c1f9e-0000-4000-8000-000000000001"


@pytest.fixture(autouse=True)
def spans() -> Iterator[InMemorySpanExporter]:
    instrument_libraries()  # the root conftest undoes it after every test
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def _named(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (found,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return found


def _ids(traceparent: str | None) -> tuple[int, int]:
    assert traceparent is not None
    _, trace_id, span_id, _ = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)


class _MemoryUow(UnitOfWork):
    """A unit of work that keeps what it writes (the outbox row) in a list."""

    def __init__(self) -> None:
        super().__init__(tenant_id="11111111-1111-1111-1111-111111111111")
        self.rows: list[tuple[str, Envelope]] = []

    def repo(self, cls: type[Any]) -> Any:
        raise NotImplementedError(cls)

    async def commit(self) -> None:
        return None

    async def _write(self, *, topic: str, key: str, envelope: Envelope) -> None:
        del key
        self.rows.append((topic, envelope))


async def _envelope_written_in_a_request() -> tuple[Envelope, ReadableSpan, ReadableSpan]:
    uow = _MemoryUow()
    with _tracer.start_as_current_span("request", kind=SpanKind.SERVER):
        envelope = await uow.publish(
            topic="factory.pack.v1",
            key=WO,
            event_type="release_recorded",
            payload={"work_order_id": WO},
            aggregate_id=WO,
            aggregate_version=3,
        )
    return envelope, _named(_EXPORTER, "request"), _named(_EXPORTER, "outbox factory.pack.v1")


class TestOutboxAndRelay:
    async def test_the_outbox_write_is_a_child_of_the_request_and_the_envelope_carries_it(self) -> None:
        envelope, request, outbox = await _envelope_written_in_a_request()
        assert outbox.parent is not None
        assert outbox.parent.span_id == request.context.span_id
        assert outbox.kind is SpanKind.PRODUCER
        assert _ids(envelope.traceparent) == (outbox.context.trace_id, outbox.context.span_id)
        assert (outbox.attributes or {})["zenops.work_order_id"] == WO

    async def test_the_relays_publish_span_is_a_child_of_the_outbox_row_and_travels_in_the_headers(
        self,
    ) -> None:
        envelope, _, outbox = await _envelope_written_in_a_request()
        row = {
            "id": 7,
            "topic": "factory.pack.v1",
            "key": WO,
            "envelope": envelope.model_dump_json(),
            "headers": json.dumps({"traceparent": envelope.traceparent}),
        }
        record = _record(cast(Any, row))
        span = record.start_publish_span()
        headers = record.headers_in(span)
        span.end()
        publish = _named(_EXPORTER, "publish factory.pack.v1")
        assert publish.parent is not None
        assert (publish.context.trace_id, publish.parent.span_id) == (
            outbox.context.trace_id,
            outbox.context.span_id,
        )
        sent = [v.decode() for k, v in headers if k == "traceparent"]
        assert len(sent) == 1
        assert _ids(sent[0]) == (publish.context.trace_id, publish.context.span_id)
        # the record list is not the one given to the producer (the Kafka instrumentation appends to it)
        assert headers is not record.headers


class _Session:
    """Answers the consumer's inbox and version statements: a message id is new once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
        sql = str(statement)
        params = params or {}
        if "inbox" in sql and sql.lstrip().upper().startswith("INSERT"):
            new = params["m"] not in self.seen
            self.seen.add(params["m"])
            return SimpleNamespace(first=lambda: (1,) if new else None)
        return SimpleNamespace(first=lambda: (1,))


class _Failure(DomainError, code="TEST_FAILURE", status=409):
    """A handler failure with a code."""


def _runner(handled: list[str], *, fail: bool = False) -> ConsumerRunner:
    async def handler(uow: UnitOfWork, envelope: Envelope) -> None:
        del uow
        handled.append(envelope.message_id)
        if fail:
            raise _Failure("no")

    return ConsumerRunner(
        consumer_name="tests",
        schema="s",
        bootstrap="localhost:1",
        db=cast(Any, None),
        outbox=cast(Any, None),
        producer=cast(Any, None),
        subscriptions=[Subscription("factory.pack.v1", handler)],
    )


class TestConsumerSpans:
    async def _deliver(
        self, runner: ConsumerRunner, session: _Session, envelope: Envelope, delivery: str = FIRST
    ) -> tuple[str, ReadableSpan, SpanContext]:
        with _tracer.start_as_current_span("relay send", kind=SpanKind.PRODUCER) as relay:
            headers = {"traceparent": current_traceparent() or ""}
        uow = cast(Any, SimpleNamespace(session=session))
        _EXPORTER.clear()
        with runner._consuming(envelope, headers):
            status = await runner._apply_in(uow, "factory.pack.v1", envelope, delivery=delivery)
        (span,) = [s for s in _EXPORTER.get_finished_spans() if s.name == "consume factory.pack.v1"]
        assert span.kind is SpanKind.CONSUMER
        return status, span, relay.get_span_context()

    async def test_the_first_delivery_is_a_child_of_the_envelope_context(self) -> None:
        envelope, _, outbox = await _envelope_written_in_a_request()
        handled: list[str] = []
        status, span, _ = await self._deliver(_runner(handled), _Session(), envelope)
        assert (status, handled) == ("applied", [envelope.message_id])
        assert span.parent is not None
        assert (span.context.trace_id, span.parent.span_id) == (
            outbox.context.trace_id,
            outbox.context.span_id,
        )
        assert not span.links
        attributes = span.attributes or {}
        assert (attributes["zenops.delivery"], attributes["zenops.work_order_id"]) == (FIRST, WO)
        assert attributes["zenops.tenant_id"] == envelope.tenant_id

    async def test_a_duplicate_is_a_child_of_its_delivery_with_a_link_to_the_envelope(self) -> None:
        envelope, _, outbox = await _envelope_written_in_a_request()
        handled: list[str] = []
        runner, session = _runner(handled), _Session()
        await self._deliver(runner, session, envelope)
        status, span, relay = await self._deliver(runner, session, envelope)
        assert (status, handled) == ("duplicate", [envelope.message_id])
        assert span.parent is not None
        assert span.parent.span_id == relay.span_id  # not a new root: inside its delivery
        assert span.context.trace_id == relay.trace_id
        (link,) = span.links
        assert (link.context.trace_id, link.context.span_id) == (
            outbox.context.trace_id,
            outbox.context.span_id,
        )
        attributes = span.attributes or {}
        assert attributes["zenops.delivery"] == DUPLICATE
        assert attributes[LINKED_TRACEPARENT] == envelope.traceparent

    async def test_a_replay_links_to_the_envelope_and_a_failure_carries_its_code(self) -> None:
        envelope, _, outbox = await _envelope_written_in_a_request()
        handled: list[str] = []
        with pytest.raises(_Failure):
            await self._deliver(_runner(handled, fail=True), _Session(), envelope, REPLAY)
        (span,) = [s for s in _EXPORTER.get_finished_spans() if s.name == "consume factory.pack.v1"]
        assert span.status.status_code is StatusCode.ERROR
        attributes = span.attributes or {}
        assert (attributes["zenops.error_code"], attributes["zenops.delivery"]) == ("TEST_FAILURE", REPLAY)
        (link,) = span.links
        assert link.context.span_id == outbox.context.span_id
        assert any(event.name == "exception" for event in span.events)


class _Conflict(DomainError, code="WORK_ORDER_CONFLICT", status=409):
    """A conflict for the HTTP test."""


def _app() -> FastAPI:
    settings = ServiceSettings(env="test", service_name="tracing-test")
    app = create_service_app(settings, title="tracing test")

    @app.post("/v1/work-orders/{work_order_id}/things")
    async def conflict(work_order_id: str) -> None:
        raise _Conflict(f"{work_order_id} conflicts")

    return app


class TestHttpSpans:
    async def test_the_server_span_continues_the_callers_trace_with_request_work_order_and_error(
        self,
    ) -> None:
        caller_trace = uuid.uuid4().hex
        parent = f"00-{caller_trace}-{'2' * 16}-01"
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.post(
                f"/v1/work-orders/{WO}/things", headers={"traceparent": parent, "x-request-id": "rid-7"}
            )
        assert answer.status_code == 409
        assert answer.headers[TRACE_ID_HEADER] == caller_trace
        (server,) = [s for s in _EXPORTER.get_finished_spans() if s.kind is SpanKind.SERVER]
        assert format(server.context.trace_id, "032x") == caller_trace
        assert server.parent is not None
        assert server.parent.span_id == int("2" * 16, 16)
        attributes = server.attributes or {}
        assert attributes["zenops.request_id"] == "rid-7"
        assert attributes["zenops.work_order_id"] == WO
        assert attributes["zenops.error_code"] == "WORK_ORDER_CONFLICT"
        assert attributes["http.status_code"] == 409

    async def test_a_request_starts_from_no_span_whatever_context_its_task_inherited(self) -> None:
        """asyncio can run a keep-alive connection's next request in the previous request's context
        (python/cpython#140947): the server span must still be a root, not a child of that request."""
        app = _app()
        earlier = _tracer.start_span("an earlier request", kind=SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(earlier))
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        path = f"/v1/work-orders/{WO}/things"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test")],
            "server": ("test", 80),
            "client": ("127.0.0.1", 50000),
        }
        try:
            await app(scope, receive, send)
        finally:
            otel_context.detach(token)
            earlier.end()
        assert sent[0]["status"] == 409
        (server,) = [s for s in _EXPORTER.get_finished_spans() if s.name.startswith("POST")]
        assert (server.kind, server.parent) == (SpanKind.SERVER, None)
        assert server.context.trace_id != earlier.get_span_context().trace_id

    async def test_probes_make_no_spans(self) -> None:
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/healthz")).status_code == 200
        assert [s for s in _EXPORTER.get_finished_spans() if s.kind is SpanKind.SERVER] == []


class TestQuietRoots:
    def test_a_database_call_outside_any_trace_is_not_recorded_inside_one_it_is(self) -> None:
        with _tracer.start_as_current_span("poll", kind=SpanKind.CLIENT):
            pass
        with (
            _tracer.start_as_current_span("request", kind=SpanKind.SERVER),
            _tracer.start_as_current_span("select", kind=SpanKind.CLIENT),
        ):
            pass
        assert sorted(s.name for s in _EXPORTER.get_finished_spans()) == ["request", "select"]
