"""The shared test helpers themselves (devstack.testing): polling, publishing and the flow steps' checks.

No stack: a recording stand-in for the producer, an in-process transport for the HTTP client.
"""

from __future__ import annotations

import json
from typing import Any, cast

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.testing.flows import FlowError, expect, generated_pack
from devstack.testing.gateway import get_when_found
from devstack.testing.messaging import RawEvent, publish
from devstack.testing.polling import NotYet, eventually
from shared.contracts.workorders import StatusChanged
from shared.messaging.envelope import Envelope


class RecordingProducer:
    """Keeps what would have been sent: ``(topic, value, key)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append((topic, value, key))


def client(*answers: tuple[int, dict[str, Any]]) -> httpx.AsyncClient:
    """A client whose requests get ``answers`` in turn (the last one repeats)."""
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = answers[min(len(calls), len(answers) - 1)]
        calls.append(1)
        return httpx.Response(status, json=body, request=request)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://gateway")


class TestEventually:
    async def test_returns_the_first_truthy_result(self) -> None:
        results = iter([None, 0, "found"])

        async def check() -> str | int | None:
            return next(results)

        assert await eventually(check, "the value", every_s=0) == "found"

    async def test_times_out_with_what_it_waited_for(self) -> None:
        async def never() -> None:
            return None

        with pytest.raises(NotYet, match="timed out waiting for the moon"):
            await eventually(never, "the moon", within_s=0.05, every_s=0.01)

    async def test_an_error_of_the_check_ends_the_wait(self) -> None:
        async def broken() -> None:
            raise KeyError("gone")

        with pytest.raises(KeyError):
            await eventually(broken, "anything")


class TestGetWhenFound:
    async def test_the_first_200_or_the_last_answer(self) -> None:
        async with client((404, {}), (200, {"ok": True})) as found:
            assert (await get_when_found(found, "/x")).json() == {"ok": True}
        async with client((404, {"code": "NOT_FOUND"})) as missing:
            resp = await get_when_found(missing, "/x", within_s=0.05)
        assert (resp.status_code, resp.json()) == (404, {"code": "NOT_FOUND"})


class TestPublish:
    async def test_a_contract_event_with_a_chosen_message_id_and_version(self) -> None:
        producer = RecordingProducer()
        event = StatusChanged(work_order_id="wo-1", from_status="DRAFT", to_status="EVIDENCE_PENDING")

        sent = await publish(
            cast(AIOKafkaProducer, producer), event, aggregate_id="wo-1", version=7, message_id="m-1"
        )

        [(topic, value, key)] = producer.sent
        assert (topic, key) == (StatusChanged.TOPIC, b"wo-1")
        assert Envelope.model_validate_json(value) == sent
        assert (sent.type, sent.message_id, sent.aggregate_version) == (StatusChanged.TYPE, "m-1", 7)
        assert sent.payload == event.to_payload()

    async def test_a_raw_payload_and_a_redelivery(self) -> None:
        producer = RecordingProducer()
        hostile = RawEvent("some.topic.v1", "no_such_type", {"x": [1, 2]})

        first = await publish(cast(AIOKafkaProducer, producer), hostile, aggregate_id="k", tenant_id=None)
        again = await publish(cast(AIOKafkaProducer, producer), first, topic="some.topic.v1")

        assert again is first
        assert [json.loads(value)["message_id"] for _, value, _ in producer.sent] == [first.message_id] * 2
        assert (first.type, first.payload, first.tenant_id) == ("no_such_type", {"x": [1, 2]}, None)

    async def test_what_it_cannot_address_is_refused(self) -> None:
        producer = cast(AIOKafkaProducer, RecordingProducer())
        envelope = await publish(producer, RawEvent("t", "e", {}), aggregate_id="k")

        with pytest.raises(TypeError, match="aggregate_id"):
            await publish(producer, RawEvent("t", "e", {}))
        with pytest.raises(TypeError, match="topic"):
            await publish(producer, envelope)


class TestFlowChecks:
    async def test_expect_names_the_request_and_the_answer(self) -> None:
        async with client((409, {"code": "WORK_ORDER_LOCKED"})) as gateway:
            resp = await gateway.post("/v1/repogen/work-orders/1/status")

        assert expect(resp, 409) == {"code": "WORK_ORDER_LOCKED"}
        with pytest.raises(FlowError, match=r"POST http://gateway/v1/repogen/work-orders/1/status -> 409"):
            expect(resp, 201)

    async def test_a_failed_generation_ends_the_wait(self) -> None:
        failed = {"generation_job": {"status": "failed"}}
        async with client((404, {}), (200, failed)) as gateway:
            with pytest.raises(FlowError, match="generation failed"):
                await generated_pack(gateway, "wo-1", within_s=5)
