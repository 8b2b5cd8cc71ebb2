"""Tracing setup and W3C ``traceparent`` propagation through HTTP, the envelope and Kafka headers."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False


def configure_tracing(
    service_name: str, *, otlp_endpoint: str = "", extra_processor: SpanProcessor | None = None
) -> TracerProvider:
    """Install the global tracer provider once per process.

    Spans go to an OTLP/HTTP collector when ``otlp_endpoint`` is set (compose wires Jaeger); otherwise
    they are still created (ids flow through logs and messages) but not exported.
    """
    global _configured
    current = trace.get_tracer_provider()
    if _configured and isinstance(current, TracerProvider):
        if extra_processor is not None:
            current.add_span_processor(extra_processor)
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    trace.set_tracer_provider(provider)
    _configured = True
    return provider


def get_tracer(name: str) -> trace.Tracer:
    """A tracer from the global provider."""
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, or ``None`` outside any span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


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
