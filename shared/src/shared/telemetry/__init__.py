"""OpenTelemetry tracing, W3C trace-context helpers and JSON logging with trace and request ids."""

from shared.telemetry.context import current_request_id, request_id_var
from shared.telemetry.logging import configure_logging
from shared.telemetry.tracing import (
    configure_tracing,
    current_traceparent,
    extract_context,
    get_tracer,
    inject_headers,
)

__all__ = [
    "configure_logging",
    "configure_tracing",
    "current_request_id",
    "current_traceparent",
    "extract_context",
    "get_tracer",
    "inject_headers",
    "request_id_var",
]
