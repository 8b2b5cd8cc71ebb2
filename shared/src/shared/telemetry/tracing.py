"""Tracing setup and W3C ``traceparent`` propagation through HTTP, the envelope and Kafka headers.

One release is one trace (issue 17): OpenTelemetry's instrumentations make the spans of what they can
see (FastAPI/ASGI server spans, httpx client spans with the ``traceparent`` they inject, asyncpg
queries, aiokafka sends and receives); the messaging code adds what they cannot know: the envelope's
``traceparent`` (written with the outbox row), the relay's publish span as a child of it, each
consumer's handler span as a child of it, and a message handled again (duplicate, stale, retried,
replayed) as a span with a LINK to it.

Exporters: OTLP/HTTP (``ZENOPS_OTEL_EXPORTER_ENDPOINT``: a collector, compose's Jaeger) and Zipkin's
JSON API (``ZENOPS_ZIPKIN_ENDPOINT``: the dev stack's embedded Zipkin).

**With neither** (``ZENOPS_TRACING=off``) nothing records spans (issue 18: nobody would read them): the
sampler drops every span, so what the instrumentations and our code start is a non-recording span that
still carries a trace id and a fresh span id (in every log line, the ``x-trace-id`` answer and the
``traceparent`` of HTTP calls and messages, which flow as before, unsampled); the asyncpg and aiokafka
instrumentations (a span per query, per send, per poll) are not installed, and the messaging hot paths
(:func:`recording` false) make no per-message span at all: an envelope then carries the context it was
written in, and a consumer's handler runs in the context of its message. A processor added later (a
test's in-memory exporter) turns recording on for the rest of the process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False
#: the library instrumentations installed in this process (``httpx``, ``asyncpg``, ``aiokafka``)
_instrumented: set[str] = set()
#: whether spans of this process go anywhere (an exporter or a processor is installed)
_recording = False

#: span attributes of our own (architecture §10: every span says which request, tenant and work order)
REQUEST_ID = "zenops.request_id"
TENANT_ID = "zenops.tenant_id"
WORK_ORDER_ID = "zenops.work_order_id"
ERROR_CODE = "zenops.error_code"
#: Zipkin keeps no span links: the linked context is repeated as this attribute so the UI shows it
LINKED_TRACEPARENT = "zenops.link.traceparent"


class QuietRoots(Sampler):
    """Keeps every root span except the background noise of the instrumentations.

    A database query or an HTTP call outside any request (the relay's polling, the stream heartbeat,
    readiness probes) and aiokafka's per-poll ``receive`` span would each start a one-span trace every
    second; they are dropped. Spans inside a trace follow their parent (:class:`ParentBased`).
    """

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        noise = kind is SpanKind.CLIENT or (kind is SpanKind.CONSUMER and name.endswith(" receive"))
        if noise and not links:
            return SamplingResult(Decision.DROP)
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "QuietRoots"


class _Recording(Sampler):
    """``ParentBased(QuietRoots())`` once spans are recorded (:func:`recording`), else DROP: a dropped
    span is a non-recording one with a valid context (trace id kept or fresh, span id fresh), so ids
    still reach logs and messages for the cost of two random numbers."""

    def __init__(self) -> None:
        self.on = False
        self._inner = ParentBased(QuietRoots())

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if not self.on:
            return _DROP
        return self._inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "ParentBased(QuietRoots)" if self.on else "DropAll(tracing off)"


_DROP = SamplingResult(Decision.DROP)
_SAMPLER = _Recording()


def recording() -> bool:
    """Whether this process records spans (an exporter or a span processor is configured). The
    messaging hot paths (outbox write, relay publish, consumer handler) make their per-message spans
    only then; without, the trace context still flows (module docstring)."""
    return _recording


def _start_recording() -> None:
    global _recording
    _SAMPLER.on = True
    _recording = True
    instrument_libraries()


def configure_tracing(
    service_name: str,
    *,
    otlp_endpoint: str = "",
    zipkin_endpoint: str = "",
    extra_processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Install the global tracer provider and the library instrumentations once per process.

    Without an endpoint or a processor the provider records nothing (module docstring: tracing off)
    and only httpx is instrumented (it carries the ``traceparent`` on outgoing calls); a processor
    given later turns recording and the other instrumentations on.
    """
    global _configured
    current = trace.get_tracer_provider()
    if _configured and isinstance(current, TracerProvider):
        if extra_processor is not None:
            current.add_span_processor(extra_processor)
            _start_recording()
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=_SAMPLER)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    if zipkin_endpoint:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        provider.add_span_processor(BatchSpanProcessor(ZipkinExporter(endpoint=zipkin_endpoint)))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    trace.set_tracer_provider(provider)
    _configured = True
    if otlp_endpoint or zipkin_endpoint or extra_processor is not None:
        _start_recording()
    else:
        instrument_libraries(propagation_only=True)
    return provider


def instrument_libraries(*, propagation_only: bool = False) -> None:
    """httpx (client spans + ``traceparent`` on every call), asyncpg (query spans) and aiokafka
    (send/receive spans + context in the record headers), once per process; ``propagation_only``:
    httpx alone (what carries the context when nothing is recorded)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    if "httpx" not in _instrumented:
        HTTPXClientInstrumentor().instrument()
        _instrumented.add("httpx")
    if propagation_only:
        return
    if "asyncpg" not in _instrumented:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]  # the package has no annotations
        _instrumented.add("asyncpg")
    if "aiokafka" not in _instrumented:
        from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor

        AIOKafkaInstrumentor().instrument()
        _instrumented.add("aiokafka")


def uninstrument_libraries() -> None:
    """Undo :func:`instrument_libraries` (a test process that configured tracing for one test must not
    send its own ``traceparent`` on every later httpx call)."""
    if "httpx" in _instrumented:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().uninstrument()
    if "asyncpg" in _instrumented:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]  # the package has no annotations
    if "aiokafka" in _instrumented:
        from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor

        AIOKafkaInstrumentor().uninstrument()
    _instrumented.clear()


def get_tracer(name: str) -> trace.Tracer:
    """A tracer from the global provider."""
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, or ``None`` outside any span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def current_trace_id() -> str | None:
    """The active trace id as 32 hex digits, or ``None`` outside any (valid) span."""
    span_ctx = trace.get_current_span().get_span_context()
    return format(span_ctx.trace_id, "032x") if span_ctx.is_valid else None


def inject_headers(carrier: dict[str, str]) -> dict[str, str]:
    """Write the active trace context into ``carrier`` (HTTP or Kafka headers)."""
    _PROPAGATOR.inject(carrier)
    return carrier


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    """Read a trace context from headers (``traceparent``/``tracestate``)."""
    return _PROPAGATOR.extract(dict(carrier))


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """A context whose parent is the given ``traceparent`` (``None`` when absent/invalid)."""
    if not traceparent:
        return None
    ctx = _PROPAGATOR.extract({"traceparent": traceparent})
    span_ctx = trace.get_current_span(ctx).get_span_context()
    return ctx if span_ctx.is_valid else None


def link_to(traceparent: str | None) -> list[Link]:
    """A span link to the context of ``traceparent`` (none when absent/invalid)."""
    ctx = context_from_traceparent(traceparent)
    if ctx is None:
        return []
    return [Link(trace.get_current_span(ctx).get_span_context(), {"zenops.link": "envelope"})]


def record_error(span: trace.Span, exc: BaseException) -> None:
    """Mark ``span`` failed: the exception, status ERROR and the domain error code when it has one."""
    span.record_exception(exc)
    code = getattr(exc, "code", None)
    span.set_attribute(ERROR_CODE, code if isinstance(code, str) else type(exc).__name__)
    span.set_status(StatusCode.ERROR, type(exc).__name__)
