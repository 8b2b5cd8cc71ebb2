"""The gateway in-process in front of in-process upstream apps: edge behaviour without the stack."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.testing import inprocess_gateway as testing
from devstack.testing.inprocess_gateway import (
    DEV_SECRET,
    SERVICE_TOKEN,
    STUDIO_ADMIN_TOKEN,
    TENANT,
    USER,
    WO,
    bearer,
    in_process_gateway,
)
from devstack.testing.inprocess_gateway import dev_token as token
from gateway_service.routes import UPSTREAMS

#: the upstreams' own document: one operation each, one the route table does not serve
UPSTREAM_DOC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "x", "version": "1"},
    "paths": {
        "/v1/repogen/work-orders/{work_order_id}/status": {"post": {"operationId": "status"}},
        "/v1/repogen/work-orders/{work_order_id}/evidence/link": {"post": {"operationId": "link"}},
        "/internal/debug": {"get": {"operationId": "debug"}},
    },
    "components": {"schemas": {"Shared": {"type": "object", "title": "from-upstream"}}},
}


class Recorder(testing.Recorder):
    """An echoing upstream that serves :data:`UPSTREAM_DOC`."""

    def __init__(self, *, version_token: str | None = None) -> None:
        super().__init__(version_token=version_token, openapi=UPSTREAM_DOC)


class TestAuthAtTheEdge:
    async def test_jwt_modes(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}) as (_, gw):
            url = f"/v1/repogen/work-orders/{WO}"
            missing = await gw.get(url)
            forged = await gw.get(
                url,
                headers=bearer(
                    jwt.encode(
                        {"sub": USER, "aud": "web", "exp": int(time.time()) + 60},
                        "another-secret-of-enough-length-123",
                        algorithm="HS256",
                    )
                ),
            )
            expired = await gw.get(url, headers=bearer(token(ttl_s=-120)))
            wrong_aud = await gw.get(url, headers=bearer(token(aud="admin")))
            bad_tenant = await gw.get(url, headers=bearer(token(tenant_id="not-a-uuid")))
            ok = await gw.get(url, headers=bearer(token()))
        codes = [r.json()["code"] for r in (missing, forged, expired, wrong_aud, bad_tenant)]
        assert [r.status_code for r in (missing, forged, expired, wrong_aud, bad_tenant)] == [401] * 5
        assert codes == [
            "TOKEN_MISSING",
            "TOKEN_INVALID",
            "TOKEN_EXPIRED",
            "AUDIENCE_MISMATCH",
            "TOKEN_INVALID",
        ]
        assert ok.status_code == 200
        assert len(rec.requests) == 1  # nothing unauthenticated reached the service
        assert rec.requests[0]["headers"]["authorization"].startswith("Bearer ")

    async def test_studio_control_plane_and_capabilities(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"billing": rec.app}) as (_, gw):
            web = await gw.get("/v1/control/tenant", headers=bearer(token()))
            no_cap = await gw.get("/v1/control/tenant", headers=bearer(token(aud="studio", roles=[])))
            with_cap = await gw.get("/v1/control/tenant", headers=bearer(token(aud="studio")))
            write = await gw.post("/v1/control/accounts", headers=bearer(token(aud="studio")), json={})
            admin = await gw.post("/v1/control/accounts", headers=bearer(STUDIO_ADMIN_TOKEN), json={})
            wrong_admin = await gw.get("/v1/control/tenant", headers=bearer("not-the-admin-token"))
        assert (web.status_code, web.json()["code"]) == (401, "AUDIENCE_MISMATCH")
        assert (no_cap.status_code, no_cap.json()["code"]) == (403, "MISSING_CAPABILITIES")
        assert no_cap.json()["details"]["missing"] == ["masterdata.read"]
        assert with_cap.status_code == 200  # ops_manager grants masterdata.read
        assert write.status_code == 201  # ops_manager grants masterdata.write
        assert admin.status_code == 201
        assert wrong_admin.status_code == 401
        # only the three admitted requests reached billing
        assert [r["path"] for r in rec.requests] == [
            "/v1/control/tenant",
            "/v1/control/accounts",
            "/v1/control/accounts",
        ]

    async def test_service_token_mode(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"billing": rec.app}) as (_, gw):
            url = "/v1/billing/accounts/status?external_key=v1:partner:1"
            missing = await gw.get(url)
            jwt_instead = await gw.get(url, headers=bearer(token()))
            header = await gw.get(url, headers={"x-service-token": SERVICE_TOKEN})
            as_bearer = await gw.get(url, headers=bearer(SERVICE_TOKEN))
        assert [missing.status_code, jwt_instead.status_code] == [401, 401]
        assert missing.json()["code"] == "INVALID_STUDIO_SERVICE_TOKEN"
        assert [header.status_code, as_bearer.status_code] == [200, 200]
        assert rec.requests[0]["query"] == "external_key=v1:partner:1"

    async def test_an_unset_service_token_refuses_every_v1_call(self) -> None:
        """domain.md §8: V2 without ``STUDIO_SERVICE_TOKEN`` answers 401
        ``STUDIO_SERVICE_TOKEN_NOT_CONFIGURED``, whatever V1 sends (an empty token never matches)."""
        rec = Recorder()
        async with in_process_gateway({"billing": rec.app}, service_token=SecretStr("")) as (_, gw):
            url = "/v1/billing/accounts/status?external_key=v1:partner:1"
            answers = [
                await gw.get(url),
                await gw.get(url, headers={"x-service-token": ""}),
                await gw.get(url, headers={"x-service-token": SERVICE_TOKEN}),
                await gw.post("/v1/billing/events", headers=bearer(SERVICE_TOKEN), json={}),
            ]
        for resp in answers:
            assert (resp.status_code, resp.json()["code"]) == (401, "STUDIO_SERVICE_TOKEN_NOT_CONFIGURED")
        assert rec.requests == []


class TestProxy:
    async def test_webhook_body_arrives_byte_identical(self) -> None:
        rec = Recorder()
        raw = b'{"id":"evt_1",  "amount": 1.10,\n "x":"\\u00e9"}\x00\xff trailing'
        headers = {"content-type": "application/json", "stripe-signature": "t=1,v1=abc"}
        async with in_process_gateway({"billing": rec.app}) as (_, gw):
            resp = await gw.post("/v1/payments/webhooks/stripe", content=raw, headers=headers)
        assert resp.status_code == 201
        assert rec.requests[0]["body"] == raw
        assert rec.requests[0]["headers"]["stripe-signature"] == "t=1,v1=abc"
        assert rec.requests[0]["headers"]["content-length"] == str(len(raw))
        assert resp.content == raw

    async def test_binary_bodies_both_ways(self) -> None:
        rec = Recorder()
        blob = bytes(range(256)) * 4096  # 1 MiB, every byte value
        async with in_process_gateway({"evidence": rec.app}) as (_, gw):
            resp = await gw.post(
                "/v1/documents", content=blob, headers={**bearer(token()), "content-type": "application/pdf"}
            )
        assert resp.status_code == 201
        assert resp.content == blob
        assert rec.requests[0]["body"] == blob
        assert resp.headers["x-zenops-service"] == "evidence"

    async def test_request_id_and_trace_context_are_propagated(self) -> None:
        rec = Recorder()
        trace_id = uuid.uuid4().hex
        parent = f"00-{trace_id}-{'1' * 16}-01"
        async with in_process_gateway({"workorders": rec.app}) as (_, gw):
            given = await gw.get(
                f"/v1/repogen/work-orders/{WO}",
                headers={**bearer(token()), "x-request-id": "rid-1", "traceparent": parent},
            )
            generated = await gw.get(f"/v1/repogen/work-orders/{WO}", headers=bearer(token()))
        assert given.headers["x-request-id"] == "rid-1"
        assert rec.requests[0]["headers"]["x-request-id"] == "rid-1"
        upstream_parent = rec.requests[0]["headers"]["traceparent"]
        assert upstream_parent.split("-")[1] == trace_id  # same trace continues upstream
        generated_id = generated.headers["x-request-id"]
        assert uuid.UUID(generated_id)
        assert rec.requests[1]["headers"]["x-request-id"] == generated_id

    async def test_rate_limit_answers_429_with_retry_after(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}, rate_limit_per_minute=3) as (_, gw):
            answers = [
                await gw.get(f"/v1/repogen/work-orders/{WO}", headers=bearer(token())) for _ in range(4)
            ]
            other_user = await gw.get(
                f"/v1/repogen/work-orders/{WO}", headers=bearer(token(sub=str(uuid.uuid4())))
            )
            metrics = await gw.get("/metrics")
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "RATE_LIMITED"
        assert set(limited.json()) == {"code", "message", "details"}
        assert other_user.status_code == 200  # the limit is per client
        assert len(rec.requests) == 4
        assert 'zenops_gateway_rate_limited_total{bucket="client"}' in metrics.text

    async def test_write_then_read_in_another_service_carries_the_token(self) -> None:
        writer = Recorder(version_token=f"workorders:work-order:{WO}:7")
        reader = Recorder()
        async with in_process_gateway({"workorders": writer.app, "factory": reader.app}) as (_, gw):
            created = await gw.post("/v1/repogen/work-orders", headers=bearer(token()), json={"x": 1})
            read = await gw.get(
                f"/v1/repogen/work-orders/{WO}/pack",
                headers={
                    **bearer(token()),
                    # factory projects packs; it keeps no evidence projection, so that one is not sent
                    "x-zenops-after": f"factory:pack:{WO}:2, evidence:work-order-evidence:{WO}:4",
                },
            )
            stranger = await gw.get(f"/v1/repogen/work-orders/{WO}/pack", headers=bearer(token(sub="x")))
        assert created.headers["x-zenops-version"] == f"workorders:work-order:{WO}:7"
        assert read.status_code == 200
        after = reader.requests[0]["headers"]["x-zenops-after"].split(",")
        assert sorted(after) == sorted([f"workorders:work-order:{WO}:7", f"factory:pack:{WO}:2"])
        assert stranger.status_code == 200
        assert "x-zenops-after" not in reader.requests[1]["headers"]  # tokens are per client

    async def test_upstream_down_and_non_normalized_errors(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}) as (_, gw):
            down = await gw.get("/v1/billing/subscription", headers=bearer(token()))
            boom = await gw.get(f"/v1/repogen/work-orders/{WO}/boom", headers=bearer(token()))
        assert down.status_code == 503
        assert down.json()["code"] == "UPSTREAM_UNAVAILABLE"
        assert down.json()["details"]["service"] == "billing"
        assert boom.status_code == 500
        assert boom.json()["code"] == "UPSTREAM_ERROR"

    async def test_unknown_and_out_of_scope_routes(self) -> None:
        async with in_process_gateway() as (_, gw):
            unknown = await gw.get("/v1/nope", headers=bearer(token()))
            gone = await gw.post("/v1/assignments/abc/report-generation/generate", headers=bearer(token()))
            legacy = await gw.get("/v1/billing/me", headers=bearer(token()))
            wrong_method = await gw.delete("/v1/meta")
        for resp in (unknown, gone, legacy, wrong_method):
            assert resp.status_code == 404
            assert resp.json()["code"] == "ROUTE_NOT_FOUND"
        assert gone.json()["details"]["reason"] == "OUT_OF_SCOPE"


class TestGatewayOwnRoutes:
    async def test_dev_login_and_meta(self) -> None:
        async with in_process_gateway() as (_, gw):
            login = await gw.post(
                "/v1/auth/login",
                json={"aud": "web", "tenant_id": TENANT, "user_id": USER, "sub": USER, "roles": ["accounts"]},
            )
            bad = await gw.post("/v1/auth/login", json={"aud": "web", "tenant_id": "nope"})
            meta = await gw.get("/v1/meta")
        assert login.status_code == 201
        body = login.json()
        assert body["token_type"] == "Bearer"
        claims = jwt.decode(body["access_token"], DEV_SECRET, algorithms=["HS256"], audience="web")
        assert claims["tenant_id"] == TENANT
        assert "invoices.write" in claims["capabilities"]  # expanded from the accounts role
        assert bad.status_code == 400
        assert bad.json()["code"] == "VALIDATION_FAILED"
        assert meta.status_code == 200
        assert {k: meta.json()[k] for k in ("app", "service", "env")} == {
            "app": "zenops-v2",
            "service": "gateway",
            "env": "dev",
        }
        assert {"git_sha", "build_time", "repo_root"} <= set(meta.json())

    async def test_dev_login_does_not_exist_outside_dev(self) -> None:
        async with in_process_gateway(env="production") as (_, gw):
            login = await gw.post("/v1/auth/login", json={"aud": "web"})
            meta = await gw.get("/v1/meta")
        assert login.status_code == 404
        assert login.json()["code"] == "ROUTE_NOT_FOUND"
        assert meta.json()["env"] == "production"

    async def test_health_is_liveness_and_readiness_summarises_upstreams(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"workorders": rec.app}) as (_, gw):
            health = await gw.get("/healthz")
            ready = await gw.get("/readyz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "service": "gateway"}
        body = ready.json()
        assert ready.status_code == 503
        assert body["code"] == "NOT_READY"
        assert body["details"]["workorders"] == "ok"
        assert body["details"]["billing"] == "unavailable (ConnectError)"

    async def test_probes_are_documented_and_limited_per_ip(self) -> None:
        async with in_process_gateway(rate_limit_per_minute=2) as (_, gw):
            doc = (await gw.get("/openapi.json")).json()
            answers = [(await gw.get(path)).status_code for path in ("/healthz", "/readyz", "/healthz")]
        assert answers == [200, 503, 429]  # no upstream is ready; then the IP's bucket is empty
        assert set(doc["paths"]["/healthz"]["get"]["responses"]) == {"200", "400", "414", "429", "431"}
        assert set(doc["paths"]["/readyz"]["get"]["responses"]) == {"200", "400", "414", "429", "431", "503"}

    async def test_ready_when_every_upstream_is_and_not_ready_names_their_checks(self) -> None:
        async def not_ready(_: object) -> JSONResponse:
            details = {"database": "ok", "broker": "ok", "stream": "stale (42 s)"}
            return JSONResponse({"code": "NOT_READY", "message": "x", "details": details}, status_code=503)

        upstreams = {name: Recorder().app for name in UPSTREAMS}
        async with in_process_gateway(upstreams) as (_, gw):
            ready = await gw.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (200, "ok")
        assert ready.json()["details"] == dict.fromkeys(UPSTREAMS, "ok")
        upstreams["factory"] = Starlette(routes=[Route("/readyz", not_ready)])
        async with in_process_gateway(upstreams) as (_, gw):
            ready = await gw.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["details"]["factory"] == "not ready (stream)"

    async def test_openapi_is_merged_and_filtered_to_the_route_table(self) -> None:
        wo, ev = Recorder(), Recorder()
        async with in_process_gateway({"workorders": wo.app, "evidence": ev.app}) as (_, gw):
            doc = (await gw.get("/openapi.json")).json()
        paths = doc["paths"]
        status_path = "/v1/repogen/work-orders/{work_order_id}/status"
        link_path = "/v1/repogen/work-orders/{work_order_id}/evidence/link"
        # each operation only from the service that owns it
        assert paths[status_path]["post"]["x-zenops-service"] == "workorders"
        assert paths[link_path]["post"]["x-zenops-service"] == "evidence"
        assert "/internal/debug" not in paths
        assert "/v1/meta" in paths
        assert "/v1/auth/login" in paths
        assert doc["x-zenops-upstreams"]["workorders"] == "ok"
        assert doc["x-zenops-upstreams"]["billing"] == "unavailable"
        assert doc["components"]["schemas"]["Shared"]["title"] == "from-upstream"

    async def test_openapi_documents_what_the_edge_answers(self) -> None:
        async with in_process_gateway({"workorders": Recorder().app}) as (_, gw):
            doc = (await gw.get("/openapi.json")).json()
        proxied = doc["paths"]["/v1/repogen/work-orders/{work_order_id}/status"]["post"]
        assert proxied["security"] == [{"bearerAuth": []}]
        assert set(doc["components"]["securitySchemes"]) >= {"bearerAuth", "serviceToken"}
        assert {"400", "401", "403", "414", "429", "431", "503", "504"} <= set(proxied["responses"])
        assert "INVALID_PATH" in proxied["responses"]["400"]["description"]
        for status in ("429", "503", "504"):
            assert "Retry-After" in proxied["responses"][status]["headers"]
        error = {"$ref": "#/components/schemas/ErrorBody"}
        assert all(
            r["content"]["application/json"]["schema"] == error
            for s, r in proxied["responses"].items()
            if s >= "400"
        )
        meta = doc["paths"]["/v1/meta"]["get"]
        assert "security" not in meta
        assert meta["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/MetaView"
        }
        assert {"400", "414", "429", "431"} == {s for s in meta["responses"] if s != "200"}
        login = doc["paths"]["/v1/auth/login"]["post"]
        assert {"201", "400", "413", "429", "503"} <= set(login["responses"])
        assert "422" not in login["responses"]


def test_metrics_text_names() -> None:
    # the metric families exist under stable names (dashboards depend on them)
    from prometheus_client import REGISTRY

    names = {m.name for m in REGISTRY.collect()}
    assert {
        "zenops_gateway_requests",
        "zenops_gateway_upstream_seconds",
        "zenops_gateway_rate_limited",
    } <= names
