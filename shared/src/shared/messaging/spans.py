"""The trace context of a consumed message: the delivery's context and the handler span (issue 17).

Split from :mod:`shared.messaging.consumer`, which runs them around every message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from shared.messaging.envelope import Envelope
from shared.telemetry.context import request_id_var
from shared.telemetry.tracing import (
    LINKED_TRACEPARENT,
    REQUEST_ID,
    TENANT_ID,
    WORK_ORDER_ID,
    context_from_traceparent,
    link_to,
    record_error,
    recording,
)

_tracer = trace.get_tracer("shared.messaging.consumer")

#: how a message reaches its handler span (``zenops.delivery``): the first time it is a child of the
#: envelope's context; every other time a child of what handles it now, with a LINK to the envelope
FIRST = "first"
DUPLICATE = "duplicate"
STALE = "stale"
RETRY = "retry"
REPLAY = "replay"
#: a whole-state event a newer one of the same partition batch replaced (``Subscription.coalesce``)
SUPERSEDED = "superseded"


@contextlib.contextmanager
def consuming(envelope: Envelope, headers: dict[str, str]) -> Iterator[None]:
    """One delivery: its correlation id as the request id of everything logged meanwhile, and the
    record's own context (the relay's publish span, from the Kafka headers) as the current one,
    so what happens around the handler (dead letter, parking) stays in the message's trace."""
    traceparent = headers.get("traceparent")
    if traceparent is None and not recording():
        # nothing records spans, so no handler span will carry the envelope's context: the log
        # lines of a record without headers still get its trace id
        traceparent = envelope.traceparent
    delivery = context_from_traceparent(traceparent)
    token = request_id_var.set(envelope.correlation_id)
    attached = otel_context.attach(delivery) if delivery is not None else None
    try:
        yield
    finally:
        if attached is not None:
            otel_context.detach(attached)
        request_id_var.reset(token)


@contextlib.contextmanager
def handling(consumer_name: str, topic: str, envelope: Envelope, delivery: str) -> Iterator[trace.Span]:
    """The handler span of one message (architecture §10, issue 17).

    The first time (``delivery`` = :data:`FIRST`) it is a child of the envelope's context (the
    writing request's outbox span): one release, one trace. A message handled again (duplicate,
    stale, retried, replayed) is a child of what handles it now (the delivery, the replay) with a
    LINK to the envelope's context, so it neither forks the original trace nor starts an orphan.
    A failure records the error, its code (``zenops.error_code``) and status ERROR.

    When nothing records spans (``shared.telemetry.tracing.recording``) there is no span: the
    handler runs in the context :func:`consuming` attached (the message's), so its logs and the
    events it publishes keep the message's trace id.
    """
    if not recording():
        yield trace.INVALID_SPAN
        return
    first = delivery in (FIRST, SUPERSEDED)  # a superseded message is handled for the first time
    parent = context_from_traceparent(envelope.traceparent) if first else None
    links = [] if first else link_to(envelope.traceparent)
    work_order = envelope.payload.get("work_order_id")
    attributes: dict[str, str] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.message.id": envelope.message_id,
        "messaging.consumer.group.name": consumer_name,
        "zenops.event_type": envelope.type,
        "zenops.aggregate_id": envelope.aggregate_id,
        "zenops.delivery": delivery,
        **({REQUEST_ID: envelope.correlation_id} if envelope.correlation_id else {}),
        **({TENANT_ID: envelope.tenant_id} if envelope.tenant_id else {}),
        **({WORK_ORDER_ID: str(work_order)} if work_order else {}),
        **({LINKED_TRACEPARENT: envelope.traceparent} if links and envelope.traceparent else {}),
    }
    with _tracer.start_as_current_span(
        f"consume {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            record_error(span, exc)
            raise
