"""Tracing off (issue 18): no exporter configured, so nothing records spans, while trace ids still reach
logs and messages and a processor added later turns recording on.

The tracer provider is process-wide and another test module installs one that records, so each case
runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

from shared.messaging.envelope import new_uuid
from shared.messaging.relay import _stored_headers


def _run(code: str) -> str:
    done = subprocess.run(  # noqa: S603  this interpreter running the test's own code
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class TestTracingOff:
    def test_spans_do_not_record_but_carry_ids_and_only_httpx_is_instrumented(self) -> None:
        out = _run(
            """
            from opentelemetry import trace
            from shared.telemetry import tracing
            tracing.configure_tracing("off-test")
            assert not tracing.recording()
            with trace.get_tracer("t").start_as_current_span("request") as span:
                assert not span.is_recording()
                assert tracing.current_trace_id() is not None
                tp = tracing.current_traceparent()
                assert tp is not None and int(tp[-2:], 16) & 1 == 0, tp  # not sampled
            assert tracing._instrumented == {"httpx"}, tracing._instrumented
            print("ok")
            """
        )
        assert out == "ok"

    def test_an_event_written_without_spans_carries_the_context_it_was_written_in(self) -> None:
        out = _run(
            """
            import asyncio
            from opentelemetry import trace
            from shared.db.uow import UnitOfWork
            from shared.telemetry import tracing
            tracing.configure_tracing("off-test")

            class Uow(UnitOfWork):
                def repo(self, cls): raise NotImplementedError
                async def commit(self): pass
                async def _write(self, *, topic, key, envelope): pass

            async def main():
                with trace.get_tracer("t").start_as_current_span("request"):
                    outer = tracing.current_traceparent()
                    envelope = await Uow().publish(
                        topic="t.v1", key="k", event_type="x", payload={}, aggregate_id="k",
                        aggregate_version=1,
                    )
                assert envelope.traceparent == outer, (envelope.traceparent, outer)
                print("ok")

            asyncio.run(main())
            """
        )
        assert out == "ok"

    def test_a_processor_added_later_turns_recording_and_the_instrumentations_on(self) -> None:
        out = _run(
            """
            from opentelemetry import trace
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
            from shared.telemetry import tracing
            tracing.configure_tracing("off-test")
            exporter = InMemorySpanExporter()
            tracing.configure_tracing("off-test", extra_processor=SimpleSpanProcessor(exporter))
            assert tracing.recording()
            with trace.get_tracer("t").start_as_current_span("request") as span:
                assert span.is_recording()
            assert [s.name for s in exporter.get_finished_spans()] == ["request"]
            assert tracing._instrumented == {"httpx", "asyncpg", "aiokafka"}, tracing._instrumented
            tracing.uninstrument_libraries()
            print("ok")
            """
        )
        assert out == "ok"


class TestHotPathHelpers:
    def test_new_uuid_is_a_canonical_random_uuid(self) -> None:
        values = {new_uuid() for _ in range(200)}
        assert len(values) == 200
        for value in values:
            parsed = uuid.UUID(value)
            assert parsed.version == 4
            assert parsed.variant == uuid.RFC_4122
            assert str(parsed) == value

    def test_stored_headers_read_the_writers_form_without_json_and_parse_anything_else(self) -> None:
        tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        assert _stored_headers("{}") == {}
        assert _stored_headers('{"traceparent": "' + tp + '"}') == {"traceparent": tp}
        assert _stored_headers('{"a": "1", "traceparent": "x"}') == {"a": "1", "traceparent": "x"}
        assert _stored_headers('{"traceparent": "a\\"b"}') == {"traceparent": 'a"b'}
        assert _stored_headers('{"traceparent": "a\\nb"}') == {"traceparent": "a\nb"}
        assert _stored_headers("[]") == {}
