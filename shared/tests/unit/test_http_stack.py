"""The one request middleware of a service (``shared.http.RequestContextMiddleware``, issue 18): with no
span recorded (tracing off) it still carries the trace context, the request id and the HTTP metric; the
recorded server spans are ``test_tracing``'s."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from shared import http
from shared.http import TRACE_ID_HEADER, create_service_app
from shared.settings import ServiceSettings
from shared.telemetry.tracing import current_traceparent

SERVICE = "http-stack-test"


@pytest.fixture(autouse=True)
def _no_span_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    # the test process may have installed a recording provider for other tests: this module is tracing off
    monkeypatch.setattr(http, "spans_recorded", lambda: False)


def _app(seen: list[str | None]) -> FastAPI:
    app = create_service_app(ServiceSettings(env="test", service_name=SERVICE), title="http stack test")

    @app.post("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        seen.append(current_traceparent())  # what outgoing calls and written events carry
        return {"id": thing_id}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    return app


async def _call(
    app: FastAPI, method: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, headers=headers)


def _observed(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "zenops_http_server_duration_seconds_count",
        {
            "service": SERVICE,
            "method": "POST" if route.startswith("/v1/things") else "GET",
            "route": route,
            "status": status,
        },
    )
    return value or 0.0


async def test_the_callers_trace_continues_with_a_span_id_of_its_own() -> None:
    seen: list[str | None] = []
    caller_trace, caller_span = uuid.uuid4().hex, "3" * 16
    answer = await _call(
        _app(seen),
        "POST",
        "/v1/things/t-1",
        {"traceparent": f"00-{caller_trace}-{caller_span}-01", "x-request-id": "rid-1"},
    )
    assert answer.status_code == 200
    assert answer.headers[TRACE_ID_HEADER] == caller_trace
    assert answer.headers["x-request-id"] == "rid-1"
    (carried,) = seen
    assert carried is not None
    version, trace_id, span_id, flags = carried.split("-")
    assert (version, trace_id, flags) == ("00", caller_trace, "01")
    assert span_id not in (caller_span, "0" * 16)


async def test_a_request_without_a_trace_starts_a_sampled_one() -> None:
    seen: list[str | None] = []
    answer = await _call(_app(seen), "POST", "/v1/things/t-2")
    (carried,) = seen
    assert carried is not None
    _, trace_id, _, flags = carried.split("-")
    assert answer.headers[TRACE_ID_HEADER] == trace_id
    assert trace_id != "0" * 32
    assert flags == "01"
    uuid.UUID(answer.headers["x-request-id"])


async def test_the_metric_counts_the_status_sent_and_a_bug_is_a_json_500() -> None:
    before_ok = _observed("/v1/things/{thing_id}", "200")
    before_broken = _observed("/v1/broken", "500")
    assert (await _call(_app([]), "POST", "/v1/things/t-3")).status_code == 200
    broken = await _call(_app([]), "GET", "/v1/broken", {"x-request-id": "rid-500"})
    assert broken.status_code == 500
    assert broken.json() == {
        "code": "INTERNAL_ERROR",
        "message": "internal error",
        "details": {"request_id": "rid-500"},
    }
    assert broken.headers["x-request-id"] == "rid-500"
    assert _observed("/v1/things/{thing_id}", "200") == before_ok + 1
    assert _observed("/v1/broken", "500") == before_broken + 1
