"""Identity at the edge (architecture §6, decision 21): each auth mode, dev login, JWKS keys.

The stack classes go through the real gateway; the JWKS class runs a gateway in-process against a JWKS
served by a tiny local HTTP server (production-style RS256/ES256 keys), with an echo app as upstream.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.launcher import StackInfo
from devstack.testing.data import SBI_WORK_ORDER, TEST_TENANT, TEST_USER, dev_login_body
from devstack.testing.fixtures import make_token
from devstack.testing.inprocess_gateway import in_process_gateway
from shared.auth.principal import Principal
from shared.errors import Forbidden

WO_LIST = "/v1/repogen/work-orders"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.stack
class TestJwtThroughTheGateway:
    async def test_missing_forged_expired_and_wrong_audience_are_401(self, stack: StackInfo) -> None:
        now = int(time.time())
        claims = {"sub": TEST_USER, "aud": "web", "tenant_id": TEST_TENANT, "user_id": TEST_USER}
        forged = jwt.encode({**claims, "exp": now + 600}, "not-the-stack-secret-but-long-enough", "HS256")
        expired = jwt.encode({**claims, "exp": now - 3600}, stack.secrets.jwt_secret, "HS256")
        wrong_aud = make_token(stack, aud="backoffice")
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            answers = {
                "TOKEN_MISSING": await client.get(WO_LIST),
                "TOKEN_INVALID": await client.get(WO_LIST, headers=_bearer(forged)),
                "TOKEN_EXPIRED": await client.get(WO_LIST, headers=_bearer(expired)),
                "AUDIENCE_MISMATCH": await client.get(WO_LIST, headers=_bearer(wrong_aud)),
                "garbage": await client.get(WO_LIST, headers=_bearer("not.a.jwt")),
            }
            # a valid token passes the edge (billing then answers for an unknown work order itself)
            ok = await client.get(
                f"/v1/billing/work-orders/{uuid.uuid4()}", headers=_bearer(make_token(stack))
            )
        for code, resp in answers.items():
            assert resp.status_code == 401, (code, resp.text)
            body = resp.json()
            assert set(body) == {"code", "message", "details"}
            if code != "garbage":
                assert body["code"] == code
        assert ok.status_code == 404, ok.text
        assert ok.json()["code"] == "WORK_ORDER_NOT_FOUND"
        assert ok.headers["x-zenops-service"] == "billing"

    async def test_missing_capability_is_403_and_wrong_audience_401_on_the_control_plane(
        self, stack: StackInfo
    ) -> None:
        no_caps = make_token(stack, aud="studio", roles=(), capabilities=())
        web = make_token(stack, aud="web")
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            forbidden = await client.get("/v1/control/tenant", headers=_bearer(no_caps))
            web_token = await client.get("/v1/control/tenant", headers=_bearer(web))
            missing = await client.get("/v1/control/tenant")
            admin = await client.get("/v1/control/tenant", headers=_bearer(stack.secrets.studio_admin_token))
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "MISSING_CAPABILITIES"
        assert forbidden.json()["details"]["missing"] == ["masterdata.read"]
        assert (web_token.status_code, web_token.json()["code"]) == (401, "AUDIENCE_MISMATCH")
        assert (missing.status_code, missing.json()["code"]) == (401, "TOKEN_MISSING")
        # the admin bearer passes the edge; billing answers for itself (its control plane may be partial)
        assert admin.status_code not in (401, 403), admin.text
        assert admin.headers["x-zenops-service"] == "billing"

    async def test_service_token_mode(self, stack: StackInfo) -> None:
        url = "/v1/billing/accounts/status?external_key=v1:partner:404"
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            missing = await client.get(url)
            wrong = await client.get(url, headers={"x-service-token": "wrong"})
            user_jwt = await client.get(url, headers=_bearer(make_token(stack)))
            right = await client.get(url, headers={"x-service-token": stack.secrets.service_token})
        for resp in (missing, wrong, user_jwt):
            assert resp.status_code == 401
            assert resp.json()["code"] == "INVALID_STUDIO_SERVICE_TOKEN"
        assert right.status_code not in (401, 403), right.text
        assert right.headers["x-zenops-service"] == "billing"

    async def test_webhook_routes_need_no_identity_at_the_edge(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            resp = await client.post("/v1/payments/webhooks/stripe", content=b'{"id": "evt_x"}')
        # the signature is billing's to verify over the raw body; the gateway only forwards it
        assert resp.headers["x-zenops-service"] == "billing"
        assert resp.status_code != 401 or resp.json()["code"] not in {"TOKEN_MISSING", "TOKEN_INVALID"}


@pytest.mark.stack
class TestDevLogin:
    async def test_login_then_write_with_the_token(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            login = await client.post(
                "/v1/auth/login",
                json=dev_login_body("super_admin"),
            )
            assert login.status_code == 201, login.text
            body = login.json()
            assert body["token_type"] == "Bearer"
            created = await client.post(
                WO_LIST,
                headers=_bearer(body["access_token"]),
                json=SBI_WORK_ORDER,
            )
        assert created.status_code == 201, created.text
        assert created.json()["work_order"]["org_id"] == TEST_TENANT

    async def test_roles_expand_to_capabilities(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            login = await client.post(
                "/v1/auth/login", json={"aud": "studio", "tenant_id": TEST_TENANT, "roles": ["hr"]}
            )
        claims = jwt.decode(login.json()["access_token"], options={"verify_signature": False})
        readable = ("masterdata", "employees", "attendance", "tasks", "payroll")
        writable = ("employees", "attendance")
        expected = {f"{area}.read" for area in readable} | {f"{area}.write" for area in writable}
        assert set(claims["capabilities"]) == expected


class TestDevLoginOutsideDev:
    async def test_login_is_404_outside_dev(self) -> None:
        async with in_process_gateway(env="staging") as (_, client):
            resp = await client.post("/v1/auth/login", json={"aud": "web"})
        assert resp.status_code == 404
        assert resp.json()["code"] == "ROUTE_NOT_FOUND"


class TestCapabilityChecks:
    def test_require_names_what_is_missing_and_super_admin_bypasses(self) -> None:
        user = Principal(
            sub="u", aud="studio", tenant_id=None, user_id=None, capabilities=frozenset({"masterdata.read"})
        )
        user.require("masterdata.read")
        with pytest.raises(Forbidden) as err:
            user.require("masterdata.read", "invoices.write")
        assert err.value.status == 403
        assert err.value.details == {"missing": ["invoices.write"]}
        assert err.value.message == "missing capabilities: invoices.write"
        Principal(sub="a", aud="studio", tenant_id=None, user_id=None, roles=("super_admin",)).require("x")
        Principal(sub="a", aud="studio", tenant_id=None, user_id=None, capabilities=frozenset({"*"})).require(
            "x"
        )


# ------------------------------------------------------------------------------------------ JWKS


class _JwksServer:
    """Serves one JWKS document on a free local port for the duration of a test."""

    def __init__(self, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _public_jwk(private_key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "other_rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


def _echo_upstream() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path})

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


class TestJwksVerification:
    async def test_rs256_and_es256_from_a_jwks(self, keys: dict[str, Any]) -> None:
        document = {
            "keys": [_public_jwk(keys["rsa"], "rsa-1", "RS256"), _public_jwk(keys["ec"], "ec-1", "ES256")]
        }
        now = int(time.time())
        claims = {
            "sub": TEST_USER,
            "aud": "portal",
            "tenant_id": TEST_TENANT,
            "user_id": TEST_USER,
            "roles": ["portal_user"],
            "exp": now + 600,
            "iat": now,
        }

        def sign(key: Any, alg: str, kid: str, **extra: Any) -> str:
            return jwt.encode({**claims, **extra}, key, algorithm=alg, headers={"kid": kid})

        url = f"/v1/repogen/work-orders/{uuid.uuid4()}"
        with _JwksServer(document) as server:
            async with in_process_gateway(
                {"workorders": _echo_upstream()}, jwks_url=server.url, jwt_secret=""
            ) as (_, gw):
                rs = await gw.get(url, headers=_bearer(sign(keys["rsa"], "RS256", "rsa-1")))
                es = await gw.get(url, headers=_bearer(sign(keys["ec"], "ES256", "ec-1")))
                other_key = await gw.get(url, headers=_bearer(sign(keys["other_rsa"], "RS256", "rsa-1")))
                unknown_kid = await gw.get(url, headers=_bearer(sign(keys["rsa"], "RS256", "rsa-9")))
                expired = await gw.get(
                    url, headers=_bearer(sign(keys["rsa"], "RS256", "rsa-1", exp=now - 3600))
                )
                wrong_aud = await gw.get(
                    url, headers=_bearer(sign(keys["rsa"], "RS256", "rsa-1", aud="elsewhere"))
                )
                # HS256 is refused when no dev secret is configured (production), even if "signed"
                hs = await gw.get(url, headers=_bearer(jwt.encode(claims, "x" * 32, algorithm="HS256")))
        assert rs.status_code == 200, rs.text
        assert es.status_code == 200, es.text
        assert rs.json()["path"] == url
        assert [r.status_code for r in (other_key, unknown_kid, expired, wrong_aud, hs)] == [401] * 5
        assert expired.json()["code"] == "TOKEN_EXPIRED"
        assert wrong_aud.json()["code"] == "AUDIENCE_MISMATCH"
        assert other_key.json()["code"] == "TOKEN_INVALID"
        assert unknown_kid.json()["code"] == "TOKEN_INVALID"

    async def test_within_clock_skew_leeway_is_accepted(self, keys: dict[str, Any]) -> None:
        document = {"keys": [_public_jwk(keys["rsa"], "rsa-1", "RS256")]}
        now = int(time.time())
        token = jwt.encode(
            {"sub": "s", "aud": "web", "exp": now - 5},
            keys["rsa"],
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        )
        with _JwksServer(document) as server:
            async with in_process_gateway(
                {"workorders": _echo_upstream()}, jwks_url=server.url, jwt_secret=""
            ) as (_, gw):
                resp = await gw.get(WO_LIST, headers=_bearer(token))
        assert resp.status_code == 200, resp.text
