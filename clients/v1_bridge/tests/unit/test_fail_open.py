"""Fail-open (domain.md §8.3): credit calls, events and status lookups never raise into V1's flow.

V2 is an ``httpx.MockTransport`` that records every request and answers what each test scripts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clients.v1_bridge.tests.unit.fakes import FakeClock, credit_status
from v1_bridge import BillingBridge, BridgeConfig, V1UsageEvent
from v1_bridge.publisher import HttpEventPublisher
from v1_bridge.sources import HttpStatusSource
from v1_bridge.status import StatusCache

Handler = Callable[[httpx.Request], httpx.Response]


class FakeV2:
    """Records requests; answers by ``(method, path)`` or raises a connection error."""

    def __init__(self, routes: dict[tuple[str, str], httpx.Response | Exception]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get(
            (request.method, request.url.path), httpx.Response(404, json={"code": "NOT_FOUND"})
        )
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


class RecordingPublisher:
    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.sent: list[V1UsageEvent] = []

    async def publish(self, event: V1UsageEvent) -> bool:
        self.sent.append(event)
        return self.ok


CONFIG = BridgeConfig(base_url="http://v2.test", service_token="t")


def bridge_on(v2: FakeV2, events: RecordingPublisher | None = None) -> tuple[BillingBridge, FakeClock]:
    http = httpx.AsyncClient(base_url=CONFIG.base_url, transport=httpx.MockTransport(v2))
    clock = FakeClock()
    cache = StatusCache(HttpStatusSource(http), clock=clock.monotonic, wall=clock.wall)
    return BillingBridge(CONFIG, http=http, events=events or RecordingPublisher(), status=cache), clock


RESERVE = "/v1/billing/credits/reserve"
STATUS = "/v1/billing/accounts/status"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(409, json={"code": "BILLING_MODE_NOT_CREDIT", "message": "x", "details": {}}),
        httpx.Response(500, text="boom"),
        httpx.Response(201, text="not json"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
async def test_a_failing_reserve_answers_none(answer: httpx.Response | Exception) -> None:
    v2 = FakeV2({("POST", RESERVE): answer})
    bridge, _ = bridge_on(v2)
    hold = await bridge.reserve(
        ref_type="commission_request", ref_id="1", idempotency_key="k", external_key="v1:partner:1"
    )
    assert hold is None
    assert v2.bodies(RESERVE) == [
        {
            "ref_type": "commission_request",
            "ref_id": "1",
            "idempotency_key": "k",
            "amount": 1,
            "external_key": "v1:partner:1",
        }
    ]


async def test_consume_and_release_of_a_missing_reservation_answer_none() -> None:
    not_found = httpx.Response(
        404, json={"code": "RESERVATION_NOT_FOUND", "message": "reservation not found"}
    )
    v2 = FakeV2(
        {
            ("POST", "/v1/billing/credits/consume"): not_found,
            ("POST", "/v1/billing/credits/release"): not_found,
        }
    )
    bridge, _ = bridge_on(v2)
    assert (
        await bridge.consume(ref_type="commission_request", ref_id="1", idempotency_key="c", account_id="a")
        is None
    )
    assert (
        await bridge.release(
            ref_type="commission_request", ref_id="1", idempotency_key="r", reservation_id="h"
        )
        is None
    )
    assert v2.bodies("/v1/billing/credits/consume")[0]["account_id"] == "a"
    assert v2.bodies("/v1/billing/credits/release")[0]["reservation_id"] == "h"


async def test_a_credit_call_invalidates_the_keys_status() -> None:
    v2 = FakeV2(
        {
            ("GET", STATUS): httpx.Response(200, json=credit_status("v1:partner:1")),
            ("POST", RESERVE): httpx.Response(201, json={"id": "h1", "status": "ACTIVE"}),
        }
    )
    bridge, _ = bridge_on(v2)
    await bridge.account_status("v1:partner:1")
    await bridge.account_status("v1:partner:1")
    hold = await bridge.reserve(ref_type="x", ref_id="1", idempotency_key="k", external_key="v1:partner:1")
    assert hold == {"id": "h1", "status": "ACTIVE"}
    await bridge.account_status("v1:partner:1")
    assert [r.url.path for r in v2.requests] == [STATUS, RESERVE, STATUS]


async def test_status_by_uuid_uses_the_id_route_and_by_key_the_query() -> None:
    account = "6b0c6d55-2d6d-4f4a-9f0a-0c1d2e3f4a5b"
    v2 = FakeV2(
        {("GET", f"/v1/billing/accounts/{account}/status"): httpx.Response(200, json=credit_status("k"))}
    )
    bridge, _ = bridge_on(v2)
    by_id = await bridge.account_status(account)
    by_key = await bridge.account_status("v1:partner:404")
    assert by_id.reachable
    assert by_key.reachable is False
    assert by_key.error == "v2 answered 404: NOT_FOUND"
    assert v2.requests[1].url.params["external_key"] == "v1:partner:404"


async def test_commission_approved_on_a_credit_account_reserves_one() -> None:
    v2 = FakeV2(
        {
            ("GET", STATUS): httpx.Response(200, json=credit_status("v1:partner:77")),
            ("POST", RESERVE): httpx.Response(201, json={"id": "h1", "status": "ACTIVE"}),
        }
    )
    events = RecordingPublisher()
    bridge, _ = bridge_on(v2, events)
    outcome = await bridge.commission_approved(
        commission_id=12, assignment_id=34, assignment_code="A-34", fees="1500", partner_id=77
    )
    assert outcome.event_key == "v1:work_accepted:commission:12"
    assert outcome.billing_mode == "CREDIT"
    assert outcome.credit == {"id": "h1", "status": "ACTIVE"}
    assert [e.model_dump() for e in events.sent] == [
        {
            "source_system": "v1",
            "event_type": "work_accepted",
            "external_account_key": "v1:partner:77",
            "payload_json": {
                "commission_request_id": "12",
                "assignment_id": "34",
                "assignment_code": "A-34",
                "fees": "1500.00",
            },
            "idempotency_key": "v1:work_accepted:commission:12",
        }
    ]
    assert v2.bodies(RESERVE) == [
        {
            "ref_type": "commission_request",
            "ref_id": "12",
            "idempotency_key": "v1:credit_reserve:commission:12",
            "amount": 1,
            "external_key": "v1:partner:77",
        }
    ]


async def test_commission_approved_with_v2_down_sends_nothing_more_and_does_not_raise() -> None:
    v2 = FakeV2({("GET", STATUS): httpx.ConnectError("refused")})
    events = RecordingPublisher(ok=False)
    bridge, _ = bridge_on(v2, events)
    outcome = await bridge.commission_approved(commission_id=1, assignment_id=2, assignment_code="A-2")
    assert outcome.event_published is False
    assert outcome.billing_mode == "POSTPAID"  # the default: no hold is attempted
    assert outcome.credit is None
    assert [r.url.path for r in v2.requests] == [STATUS]


async def test_deliverable_released_consumes_only_for_a_commission() -> None:
    consume = "/v1/billing/credits/consume"
    v2 = FakeV2({("POST", consume): httpx.Response(201, json={"id": "l1", "reason": "consume"})})
    events = RecordingPublisher()
    bridge, _ = bridge_on(v2, events)
    plain = await bridge.deliverable_released(
        deliverable_id=5,
        assignment_id=2,
        assignment_code="A-2",
        document_id=9,
        released_at="2026-01-01T00:00:00Z",
    )
    from_commission = await bridge.deliverable_released(
        deliverable_id=6,
        assignment_id=2,
        assignment_code="A-2",
        document_id=9,
        released_at="2026-01-01T00:00:00Z",
        commission_id=12,
    )
    assert plain.credit is None
    assert from_commission.credit == {"id": "l1", "reason": "consume"}
    assert v2.bodies(consume) == [
        {
            "ref_type": "commission_request",
            "ref_id": "12",
            "idempotency_key": "v1:credit_consume:deliverable:6",
            "external_key": "v1:assignment:2",
        }
    ]
    assert [e.idempotency_key for e in events.sent] == [
        "v1:deliverables_released:5",
        "v1:deliverables_released:6",
    ]


async def test_commission_needs_info_releases_and_swallows_a_404() -> None:
    v2 = FakeV2({})
    events = RecordingPublisher()
    bridge, _ = bridge_on(v2, events)
    outcome = await bridge.commission_needs_info(commission_id=12, assignment_id=2, assignment_code="A-2")
    assert outcome.event_key == "v1:commission_cancelled:12"
    assert outcome.credit_key == "v1:credit_release:commission:12"
    assert outcome.credit is None


async def test_an_event_v1_cannot_build_is_logged_not_raised() -> None:
    bridge, _ = bridge_on(FakeV2({}))
    assert await bridge.emit("work_accepted", account_key="", idempotency_key="k", payload={}) is False


async def test_a_disabled_bridge_answers_the_defaults() -> None:
    async with BillingBridge.open(BridgeConfig(base_url="http://v2.test")) as bridge:
        assert not bridge.config.enabled
        status = await bridge.account_status("v1:partner:1")
        assert (status.reachable, status.stale, status.status.source) == (False, False, "v1_default")
        assert await bridge.reserve(ref_type="x", ref_id="1", idempotency_key="k") is None
        outcome = await bridge.commission_approved(commission_id=1, assignment_id=2, assignment_code="A")
        assert outcome.event_published is False


async def test_the_http_event_publisher_is_fail_open() -> None:
    v2 = FakeV2(
        {
            ("POST", "/v1/billing/events"): httpx.Response(
                400, json={"code": "VALIDATION_FAILED", "message": "x"}
            )
        }
    )
    http = httpx.AsyncClient(base_url=CONFIG.base_url, transport=httpx.MockTransport(v2))
    event = V1UsageEvent(event_type="invoice_paid", external_account_key="v1:client:1", idempotency_key="k")
    assert await HttpEventPublisher(http).publish(event) is False
    assert v2.bodies("/v1/billing/events") == [
        {
            "source_system": "v1",
            "event_type": "invoice_paid",
            "idempotency_key": "k",
            "payload_json": {},
            "external_account_key": "v1:client:1",
        }
    ]
    broken = httpx.AsyncClient(
        base_url=CONFIG.base_url,
        transport=httpx.MockTransport(FakeV2({("POST", "/v1/billing/events"): httpx.ConnectError("x")})),
    )
    assert await HttpEventPublisher(broken).publish(event) is False


def test_config_bounds_and_environment() -> None:
    config = BridgeConfig.from_env(
        {
            "ZENOPS_GATEWAY_URL": "http://gw",
            "ZENOPS_SERVICE_TOKEN": "s",
            "V1_BRIDGE_TIMEOUT_S": "0.1",
            "V1_BRIDGE_STATUS_TTL_S": "nonsense",
            "V1_BRIDGE_DEFAULT_BILLING_MODE": "credit",
        }
    )
    assert config.enabled
    assert config.base_url == "http://gw"
    assert config.timeout_s == 0.5
    assert config.status_ttl_s == 45
    assert config.default_billing_mode == "CREDIT"
    assert "service_token" not in repr(config)
    assert not BridgeConfig.from_env({}).enabled
