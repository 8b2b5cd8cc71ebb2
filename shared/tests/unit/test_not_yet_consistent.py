"""404 only when caught up, else 503 ``NOT_YET_CONSISTENT`` (issue 19: answers a client can act on)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner
from fastapi import FastAPI, Request

from shared.api import errors
from shared.catchup import caught_up, partition_for
from shared.consistency import (
    AFTER_HEADER,
    WORK_ORDERS,
    NotYetConsistent,
    ProjectedNotFound,
    answers_not_yet,
    await_projections,
    not_found_or_not_yet,
    parse_tokens,
    tracking_awaited_tokens,
)
from shared.errors import DomainError
from shared.http import create_service_app
from shared.settings import ServiceSettings

WO = str(uuid.uuid4())


class _WorkOrderNotFound(ProjectedNotFound, DomainError, code="WORK_ORDER_NOT_FOUND", status=404):
    """As a projecting service declares it."""

    def __init__(self, work_order_id: object) -> None:
        super().__init__(f"work order {work_order_id} not found", aggregate_id=work_order_id)


class _Broker:
    """A consumer group's catch-up as the broker would tell it; records what was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    async def caught_up(self, topic: str, key: str) -> bool:
        self.asked.append((topic, key))
        return self.answer


class TestTheRule:
    @pytest.mark.parametrize(
        ("token_pending", "caught_up", "not_yet"),
        [
            (False, True, False),  # caught up and nothing promised: 404
            (False, False, True),  # the consumer is behind on the key's partition
            (False, None, True),  # the broker cannot tell: never a 404 we cannot vouch for
            (True, True, True),  # the caller holds a token the projection has not reached
            (True, False, True),
            (True, None, True),
        ],
    )
    def test_404_only_when_caught_up_and_no_token_pending(
        self, token_pending: bool, caught_up: bool | None, not_yet: bool
    ) -> None:
        assert answers_not_yet(token_pending=token_pending, caught_up=caught_up) is not_yet

    @pytest.mark.parametrize(
        ("committed", "end", "up"), [(5, 5, True), (4, 5, False), (-1, 0, True), (-1, 3, False)]
    )
    def test_caught_up_is_committed_at_the_end_offset(self, committed: int, end: int, up: bool) -> None:
        assert caught_up(committed, end) is up

    @pytest.mark.parametrize("partitions", [1, 3, 12])
    def test_the_partition_is_the_producers_choice(self, partitions: int) -> None:
        for key in (WO, str(uuid.uuid4()), "x"):
            expected = DefaultPartitioner()(key.encode(), list(range(partitions)), [])
            assert partition_for(key, partitions) == expected


async def _lookup_never(_: str) -> int | None:
    return None


class TestNotFoundOrNotYet:
    async def test_caught_up_without_token_is_the_404(self) -> None:
        broker = _Broker(True)
        exc = _WorkOrderNotFound(WO)
        with tracking_awaited_tokens():
            assert await not_found_or_not_yet(exc, broker.caught_up, retry_after_s=2) is exc
        assert broker.asked == [(WORK_ORDERS.topic, WO)]

    async def test_a_consumer_behind_is_503(self) -> None:
        with tracking_awaited_tokens():
            answer = await not_found_or_not_yet(
                _WorkOrderNotFound(WO), _Broker(False).caught_up, retry_after_s=3
            )
        assert isinstance(answer, NotYetConsistent)
        assert (answer.status, answer.code) == (503, "NOT_YET_CONSISTENT")
        assert answer.details == {
            "aggregate": "workorders:work-order",
            "id": WO,
            "reason": "CONSUMER_BEHIND",
            "retry_after_s": 3,
        }

    async def test_a_token_not_reached_is_503_without_asking_the_broker(self) -> None:
        broker = _Broker(True)
        with tracking_awaited_tokens():
            pending = await await_projections(
                parse_tokens(f"workorders:work-order:{WO}:1"),
                {("workorders", "work-order"): _lookup_never},
                timeout_s=0,
            )
            answer = await not_found_or_not_yet(_WorkOrderNotFound(WO), broker.caught_up, retry_after_s=2)
        assert [str(t) for t in pending] == [f"workorders:work-order:{WO}:1"]
        assert isinstance(answer, NotYetConsistent)
        assert answer.details["reason"] == "TOKEN_NOT_REACHED"
        assert broker.asked == []

    async def test_a_token_reached_leaves_the_decision_to_the_consumer(self) -> None:
        async def at_version_2(_: str) -> int | None:
            return 2

        exc = _WorkOrderNotFound(WO)
        with tracking_awaited_tokens():
            await await_projections(
                parse_tokens(f"workorders:work-order:{WO}:2"),
                {("workorders", "work-order"): at_version_2},
                timeout_s=0,
            )
            assert await not_found_or_not_yet(exc, _Broker(True).caught_up, retry_after_s=2) is exc

    async def test_a_token_of_another_work_order_does_not_count(self) -> None:
        exc = _WorkOrderNotFound(WO)
        with tracking_awaited_tokens():
            await await_projections(
                parse_tokens(f"workorders:work-order:{uuid.uuid4()}:1"),
                {("workorders", "work-order"): _lookup_never},
                timeout_s=0,
            )
            assert await not_found_or_not_yet(exc, _Broker(True).caught_up, retry_after_s=2) is exc

    async def test_an_id_that_cannot_exist_is_404_at_once(self) -> None:
        broker = _Broker(False)
        exc = _WorkOrderNotFound("not-a-uuid")
        assert await not_found_or_not_yet(exc, broker.caught_up, retry_after_s=2) is exc
        assert broker.asked == []

    async def test_without_a_consumer_group_to_ask_it_is_404(self) -> None:
        exc = _WorkOrderNotFound(WO)
        assert await not_found_or_not_yet(exc, None, retry_after_s=2) is exc


def _app(broker: _Broker | None) -> FastAPI:
    app = create_service_app(ServiceSettings(env="test", service_name="nyc-test", retry_after_s=4), title="t")
    if broker is not None:
        app.state.catchup = broker

    async def lookup(_: str) -> int | None:
        return None

    @app.post("/v1/work-orders/{work_order_id}/things", responses=errors(_WorkOrderNotFound))
    async def thing(work_order_id: str, request: Request) -> None:
        await await_projections(
            parse_tokens(request.headers.get(AFTER_HEADER)),
            {("workorders", "work-order"): lookup},
            timeout_s=0,
        )
        raise _WorkOrderNotFound(work_order_id)

    return app


async def _post(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post(f"/v1/work-orders/{WO}/things", headers=headers)


class TestOverHttp:
    async def test_behind_is_503_with_retry_after(self) -> None:
        answer = await _post(_app(_Broker(False)))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "4"
        assert answer.json()["code"] == "NOT_YET_CONSISTENT"

    async def test_a_pending_token_is_503(self) -> None:
        answer = await _post(_app(_Broker(True)), {AFTER_HEADER: f"workorders:work-order:{WO}:1"})
        assert (answer.status_code, answer.json()["details"]["reason"]) == (503, "TOKEN_NOT_REACHED")

    async def test_caught_up_is_404(self) -> None:
        answer = await _post(_app(_Broker(True)))
        assert (answer.status_code, answer.json()["code"]) == (404, "WORK_ORDER_NOT_FOUND")
        assert "Retry-After" not in answer.headers

    def test_errors_documents_the_503_of_a_projected_not_found(self) -> None:
        responses = errors(_WorkOrderNotFound)
        assert responses[404]["description"] == "WORK_ORDER_NOT_FOUND"
        assert responses[503]["description"] == "NOT_YET_CONSISTENT"
        assert "Retry-After" in responses[503]["headers"]
        assert "headers" not in responses[404]
