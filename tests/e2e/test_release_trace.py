"""One release = one trace (issue 17), read back from the stack's real Zipkin.

A release through the gateway: its ``x-trace-id`` names a trace in Zipkin (``/api/v2/trace/<id>``) that
holds spans of the gateway, factory, billing and workorders: the gateway's server span is the root, the
factory's release request is its descendant, its outbox write parents both the relay's publish span and
billing's handler span, whose child is the gate decision with its outcome; factory records the outcome
and workorders consumes it, all under the one trace id. A redelivered message (the same envelope sent
again with the relay's publish context) becomes a ``duplicate`` handler span inside that trace, a child
of the redelivery with the link to the envelope's context (Zipkin keeps no span links, so the linked
``traceparent`` is also an attribute).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import DEMO_CONTRACT_PATCH, TEST_TENANT
from devstack.testing.gateway import new_work_order_id
from devstack.testing.polling import eventually
from shared.messaging.envelope import Envelope

pytestmark = pytest.mark.stack

Span = dict[str, Any]


def _service(span: Span) -> str:
    return str(span.get("localEndpoint", {}).get("serviceName", ""))


def _tag(span: Span, name: str) -> str | None:
    value = span.get("tags", {}).get(name)
    return str(value) if value is not None else None


def _one(spans: list[Span], service: str, name: str, **tags: str) -> Span:
    found = [
        s
        for s in spans
        if _service(s) == service
        and s.get("name") == name
        and all(_tag(s, f"zenops.{k}") == v for k, v in tags.items())
    ]
    assert len(found) == 1, f"{service} {name!r} {tags}: {len(found)} spans"
    return found[0]


def _ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    chain = []
    parent = span.get("parentId")
    while parent in by_id:
        chain.append(by_id[parent])
        parent = by_id[parent].get("parentId")
    return chain


#: the spans the trace must hold before the test reads it (Zipkin keeps span names in lower case; each
#: service exports in batches, within seconds of each other)
EXPECTED = frozenset(
    {
        ("gateway", "post /v1/repogen/work-orders/:id/release-deliverables"),
        ("factory", "outbox factory.release-requested.v1"),
        ("factory", "publish factory.release-requested.v1"),
        ("billing", "consume factory.release-requested.v1"),
        ("billing", "gate decide"),
        ("factory", "consume billing.gate-outcome.v1"),
        ("factory", "outbox factory.pack.v1"),
        ("factory", "publish factory.pack.v1"),
        ("workorders", "consume factory.pack.v1"),
    }
)


async def _trace(zipkin: httpx.AsyncClient, trace_id: str) -> list[Span]:
    """The trace's spans once Zipkin has every one of :data:`EXPECTED`."""

    async def complete() -> list[Span] | None:
        try:
            answer = await zipkin.get(f"/api/v2/trace/{trace_id}")
        except httpx.TimeoutException:
            return None  # the store is busy taking in the spans of a whole test run: ask again
        if answer.status_code != 200:
            return None
        spans: list[Span] = answer.json()
        return spans if {(_service(s), s.get("name")) for s in spans} >= EXPECTED else None

    return await eventually(complete, f"the release's spans in trace {trace_id}", within_s=60, every_s=0.5)


#: the services whose spans make up the platform's side of a trace
PLATFORM = frozenset({"gateway", "workorders", "evidence", "factory", "billing", "console"})


class TestOneReleaseOneTrace:
    async def test_a_release_through_the_gateway_is_one_trace_in_zipkin(
        self,
        gateway: httpx.AsyncClient,
        stack: StackInfo,
        admin_db: asyncpg.Connection,
        producer: AIOKafkaProducer,
    ) -> None:
        assert stack.tracing.zipkin_url, "the test stack runs the embedded Zipkin (ZENOPS_TRACING unset)"
        wo = await new_work_order_id(gateway)
        await flows.ready_for_render(gateway, wo, DEMO_CONTRACT_PATCH)
        await flows.generated_pack(gateway, wo)
        request_id = str(uuid.uuid4())
        gateway.headers["x-request-id"] = request_id
        released, trace_id = await flows.traced_release(
            gateway, wo, f"trace:{wo}", override_reason="Manual override for the trace test"
        )
        assert released["release"]["billing_gate_result"] == "OVERRIDE"
        assert len(trace_id) == 32

        async with httpx.AsyncClient(base_url=stack.tracing.zipkin_url, timeout=10) as zipkin:
            spans = await _trace(zipkin, trace_id)
            by_id = {s["id"]: s for s in spans}
            assert {s["traceId"] for s in spans} == {trace_id}
            assert {"gateway", "factory", "billing", "workorders"} <= {_service(s) for s in spans}

            # the gateway's server span is the root; factory's server span descends from it
            root = _one(spans, "gateway", "post /v1/repogen/work-orders/:id/release-deliverables")
            # a caller that traces itself sends its own ``traceparent`` and the gateway continues it (W3C);
            # then the root's parent is the caller's span (which the caller may export to the same store,
            # as this test process does once a test has installed tracing), never a span of the platform
            parent = by_id.get(root.get("parentId") or "")
            assert parent is None or _service(parent) not in PLATFORM, parent
            assert (_tag(root, "zenops.request_id"), root.get("kind")) == (request_id, "SERVER")
            assert _tag(root, "zenops.tenant_id") == TEST_TENANT
            served = next(
                s
                for s in spans
                if _service(s) == "factory" and s.get("kind") == "SERVER" and root in _ancestors(s, by_id)
            )
            assert _tag(served, "zenops.work_order_id") == wo
            assert _tag(served, "zenops.request_id") == request_id

            # factory's outbox write parents the relay's publish and billing's handler
            outbox = _one(spans, "factory", "outbox factory.release-requested.v1")
            assert served in _ancestors(outbox, by_id)
            publish = _one(spans, "factory", "publish factory.release-requested.v1")
            assert publish["parentId"] == outbox["id"]
            handled = _one(spans, "billing", "consume factory.release-requested.v1", delivery="first")
            assert handled["parentId"] == outbox["id"]
            assert _tag(handled, "zenops.work_order_id") == wo
            assert _tag(handled, "zenops.request_id") == request_id

            # the gate decision is a span of that handler, with its outcome
            gate = _one(spans, "billing", "gate decide")
            assert gate["parentId"] == handled["id"]
            assert _tag(gate, "zenops.gate.result") == "OVERRIDE"

            # factory records the outcome, workorders hears of the release: same trace
            _one(spans, "factory", "consume billing.gate-outcome.v1", delivery="first")
            recorded = _one(spans, "factory", "outbox factory.pack.v1")
            consumed = _one(spans, "workorders", "consume factory.pack.v1", delivery="first")
            assert consumed["parentId"] == recorded["id"]

            # a redelivery of that message (as a relay re-send would: same envelope, the publish context in
            # the headers) is a duplicate span in the same trace, linked to the envelope's context
            row = await admin_db.fetchrow(
                "SELECT envelope::text AS envelope FROM factory.outbox "
                "WHERE topic = 'factory.pack.v1' AND envelope->>'aggregate_id' = $1 "
                "AND envelope->>'type' = 'release_recorded'",
                wo,
            )
            assert row is not None
            envelope = Envelope.model_validate_json(row["envelope"])
            resent = _one(spans, "factory", "publish factory.pack.v1")
            traceparent = f"00-{trace_id}-{resent['id']}-01"
            await producer.send_and_wait(
                "factory.pack.v1",
                value=envelope.to_bytes(),
                key=wo.encode(),
                headers=[("traceparent", traceparent.encode())],
            )

            async def duplicate() -> list[Span] | None:
                later = await _trace(zipkin, trace_id)
                found = [
                    s
                    for s in later
                    if _service(s) == "workorders" and _tag(s, "zenops.delivery") == "duplicate"
                ]
                return found or None

            (again,) = await eventually(duplicate, "the duplicate's span in the release's trace", within_s=60)
            assert again["parentId"] == resent["id"]
            assert again["traceId"] == trace_id
            assert _tag(again, "zenops.link.traceparent") == envelope.traceparent
            assert envelope.traceparent is not None
            assert envelope.traceparent.split("-")[2] == recorded["id"]
