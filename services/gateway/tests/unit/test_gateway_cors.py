"""CORS at the edge (issue 20 item 4): preflights and answers for the configured origins only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devstack.testing.inprocess_gateway import (
    WO,
    Recorder,
    bearer,
    dev_token,
    gateway_settings,
    in_process_gateway,
)
from gateway_service.cors import EXPOSED_HEADERS
from gateway_service.settings import parse_origins

CONSOLE = "http://127.0.0.1:8090"
WEB_APP = "http://localhost:5173"
STRANGER = "https://evil.example"
STATUS = f"/v1/repogen/work-orders/{WO}/status"


def preflight(origin: str, method: str = "POST", headers: str | None = None) -> dict[str, str]:
    values = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        values["access-control-request-headers"] = headers
    return values


def listed(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


class TestPreflight:
    async def test_an_allowed_origin_may_post_to_a_real_route_with_the_headers_clients_send(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}, cors_origins=f"{CONSOLE},{WEB_APP}") as (
            _,
            gw,
        ):
            resp = await gw.options(
                STATUS, headers=preflight(WEB_APP, "POST", "authorization, content-type, idempotency-key")
            )
        assert resp.status_code == 200, resp.text
        assert resp.headers["access-control-allow-origin"] == WEB_APP
        assert {"GET", "POST", "PATCH", "DELETE"} <= {
            m.upper() for m in listed(resp.headers["access-control-allow-methods"])
        }
        assert {"authorization", "idempotency-key", "x-zenops-after"} <= listed(
            resp.headers["access-control-allow-headers"]
        )
        assert "origin" in listed(resp.headers["vary"])
        assert "access-control-allow-credentials" not in resp.headers  # tokens, not cookies
        assert rec.requests == []  # a preflight never reaches a service

    async def test_a_foreign_origin_is_refused_with_the_normalized_body(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}, cors_origins=CONSOLE) as (_, gw):
            resp = await gw.options(STATUS, headers=preflight(STRANGER, "POST", "authorization"))
        assert resp.status_code == 403
        body = resp.json()
        assert body["code"] == "CORS_PREFLIGHT_REFUSED"
        assert body["details"]["refused"] == ["origin"]
        assert body["details"]["origin"] == STRANGER
        assert "access-control-allow-origin" not in resp.headers
        assert rec.requests == []

    async def test_the_service_token_header_is_not_for_browsers(self) -> None:
        async with in_process_gateway(cors_origins=CONSOLE) as (_, gw):
            resp = await gw.options(
                "/v1/billing/credits/reserve", headers=preflight(CONSOLE, "POST", "x-service-token")
            )
            odd_method = await gw.options(STATUS, headers=preflight(CONSOLE, "TRACE"))
        assert (resp.status_code, resp.json()["details"]["refused"]) == (403, ["headers"])
        assert (odd_method.status_code, odd_method.json()["details"]["refused"]) == (403, ["method"])

    async def test_production_default_allows_no_origin(self) -> None:
        async with in_process_gateway(env="production") as (app, gw):
            assert app.state.gateway.settings.cors_origins == []
            resp = await gw.options(STATUS, headers=preflight(CONSOLE))
            plain = await gw.get(f"/v1/repogen/work-orders/{WO}", headers={"origin": CONSOLE})
        assert (resp.status_code, resp.json()["code"]) == (403, "CORS_PREFLIGHT_REFUSED")
        assert "access-control-allow-origin" not in plain.headers

    async def test_an_options_request_that_is_no_preflight_is_routed_as_before(self) -> None:
        async with in_process_gateway(cors_origins=CONSOLE) as (_, gw):
            resp = await gw.options(STATUS, headers={"origin": CONSOLE})
        assert (resp.status_code, resp.json()["code"]) == (404, "ROUTE_NOT_FOUND")


class TestAnswers:
    async def test_an_allowed_origin_reads_the_answer_and_its_headers(self) -> None:
        rec = Recorder(version_token=f"workorders:work-order:{WO}:3")
        async with in_process_gateway({"workorders": rec.app}, cors_origins=CONSOLE) as (_, gw):
            resp = await gw.post(
                STATUS,
                json={"status": "EVIDENCE_PENDING"},
                headers={"origin": CONSOLE, **bearer(dev_token())},
            )
        assert resp.status_code == 201
        assert resp.headers["access-control-allow-origin"] == CONSOLE
        exposed = listed(resp.headers["access-control-expose-headers"])
        assert {"x-zenops-version", "x-trace-id", "x-next-cursor", "x-request-id", "retry-after"} <= exposed
        assert exposed == set(EXPOSED_HEADERS)
        assert "origin" in listed(resp.headers["vary"])
        assert [r["headers"]["origin"] for r in rec.requests] == [CONSOLE]

    async def test_refusals_of_the_edge_are_readable_too(self) -> None:
        async with in_process_gateway(cors_origins=CONSOLE) as (_, gw):
            unauthenticated = await gw.get(f"/v1/repogen/work-orders/{WO}", headers={"origin": CONSOLE})
            bad_path = await gw.get("/v1/repogen//work-orders", headers={"origin": CONSOLE})
        for resp, code in ((unauthenticated, "TOKEN_MISSING"), (bad_path, "INVALID_PATH")):
            assert resp.json()["code"] == code
            assert resp.headers["access-control-allow-origin"] == CONSOLE

    async def test_a_foreign_origin_gets_no_allow_origin(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}, cors_origins=CONSOLE) as (_, gw):
            resp = await gw.get(
                f"/v1/repogen/work-orders/{WO}", headers={"origin": STRANGER, **bearer(dev_token())}
            )
        assert resp.status_code == 200  # the server answers; the browser keeps it from the page
        assert "access-control-allow-origin" not in resp.headers
        assert "origin" in listed(resp.headers["vary"])

    async def test_any_origin_when_configured_with_a_star(self) -> None:
        async with in_process_gateway(cors_origins="*") as (_, gw):
            resp = await gw.options(STATUS, headers=preflight(STRANGER, "PATCH", "authorization"))
        assert resp.status_code == 200
        assert resp.headers["access-control-allow-origin"] == "*"


class TestOrigins:
    def test_comma_separated_normalized_and_deduplicated(self) -> None:
        assert parse_origins(
            " http://LOCALHOST:5173/ ,, https://app.zenops.example,http://localhost:5173"
        ) == [
            "http://localhost:5173",
            "https://app.zenops.example",
        ]
        assert parse_origins("") == []
        assert parse_origins("http://[::1]:8080") == ["http://[::1]:8080"]

    @pytest.mark.parametrize(
        "origin", ["localhost:5173", "http://localhost:5173/app", "ftp://files.example", "http://a b"]
    )
    def test_a_malformed_origin_stops_the_gateway_at_start(self, origin: str) -> None:
        with pytest.raises(ValidationError, match="CORS origin"):
            gateway_settings(cors_origins=origin)

    def test_none_unless_configured(self) -> None:
        assert gateway_settings().cors_origins == []
