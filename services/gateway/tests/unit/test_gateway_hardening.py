"""Issue 12 at the edge, in-process: canonical paths, body classes, URL/header limits, client tokens,
JSON 500s logged once, and uvicorn's own protocol errors as JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from devstack.testing.inprocess_gateway import WO, Recorder, bearer, in_process_gateway
from devstack.testing.inprocess_gateway import dev_token as token
from devstack.testing.polling import eventually
from gateway_service.edge import check_path
from gateway_service.routes import PROJECTED_BY
from shared.consistency import MAX_CLIENT_TOKENS
from shared.errors import BadRequest
from shared.http import create_service_app
from shared.settings import ServiceSettings
from shared.uvicorn_protocol import JsonErrorsHttpToolsProtocol


async def raw_asgi(
    app: ASGIApp,
    method: str,
    raw_path: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """Call an ASGI app with a request path exactly as given (an HTTP client would normalise it)."""
    from urllib.parse import unquote

    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path.decode("latin-1")),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"gateway.test"), *(headers or [])],
        "client": ("203.0.113.9", 5000),
        "server": ("gateway.test", 80),
        "state": {},
    }
    sent = False
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in messages if m["type"] == "http.response.start")
    resp_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], resp_headers, content


def _assert_error(
    status: int, headers: dict[str, str], body: bytes, expected: int, code: str
) -> dict[str, Any]:
    assert status == expected, body
    assert headers["content-type"].startswith("application/json")
    payload: dict[str, Any] = json.loads(body)
    assert set(payload) == {"code", "message", "details"}
    assert payload["code"] == code, payload
    assert headers.get("x-request-id")
    return payload


# ----------------------------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "raw",
    [
        b"/v1/invoices/x/../../control/tenant",
        b"/v1/invoices/x/%2e%2e/%2E%2E/control/tenant",
        b"/v1/invoices/./x",
        b"/v1/invoices/x/..",
        b"/v1/invoices//x",
        b"//v1/control/tenant",
        b"/v1/invoices/x%2F..%2F..%2Fcontrol%2Ftenant",
        b"/v1/invoices/x%2fy",
        b"/v1/invoices/x%5C..%5Ccontrol",
        b"/v1/invoices/x\\..\\control",
        b"/v1/invoices/x%00",
        b"/v1/invoices/x%0a",
        b"/v1/invoices/x%3F/y",
        b"/v1/invoices/x%23y",
        b"/v1/invoices/x%zz",
        b"/v1/invoices/x%c3%28",  # not UTF-8
        b"/v1/invoices/\xc3\xa9",  # raw non-ASCII
        b"/v1/invoices/a b",
        b"v1/invoices",
    ],
)
def test_non_canonical_paths_are_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest) as err:
        check_path(raw)
    assert err.value.code == "INVALID_PATH"
    assert err.value.status == 400


@pytest.mark.parametrize(
    "raw",
    [
        b"/v1/invoices",
        f"/v1/repogen/work-orders/{WO}/comments".encode(),
        b"/v1/documents/abc%20def",
        b"/v1/documents/%C3%A9t%C3%A9",
        b"/v1/control/accounts/a:b@c;d=e,f",
        b"/v1/repogen/work-orders/",
        b"/v1/x/.../y",  # three dots are a name, not a dot segment
    ],
)
def test_canonical_paths_pass(raw: bytes) -> None:
    check_path(raw)


class TestPathsThroughTheGateway:
    async def test_traversal_into_the_control_plane_never_reaches_billing(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"billing": rec.app}) as (app, _):
            for raw in (
                b"/v1/invoices/x/../../control/tenant",
                b"/v1/invoices/x/%2e%2e/%2e%2e/control/tenant",
                b"/v1/invoices/x%2F..%2F..%2Fcontrol%2Ftenant",
                b"/v1/invoices//x",
            ):
                status, headers, body = await raw_asgi(
                    app, "GET", raw, [(b"authorization", f"Bearer {token()}".encode())]
                )
                payload = _assert_error(status, headers, body, 400, "INVALID_PATH")
                assert payload["details"]["reason"]
            metrics = (await raw_asgi(app, "GET", b"/metrics"))[2].decode()
        assert rec.requests == []
        assert 'zenops_gateway_refused_total{reason="INVALID_PATH"}' in metrics

    async def test_the_upstream_gets_the_matched_path_byte_for_byte(self) -> None:
        rec = Recorder()
        async with in_process_gateway({"evidence": rec.app}) as (app, _):
            status, _, _ = await raw_asgi(
                app,
                "GET",
                b"/v1/documents/abc%20d%C3%A9f?x=1",
                [(b"authorization", f"Bearer {token()}".encode())],
            )
        assert status == 200
        assert rec.requests[0]["raw_path"] == b"/v1/documents/abc%20d%C3%A9f"
        assert rec.requests[0]["path"] == "/v1/documents/abc déf"
        assert rec.requests[0]["query"] == "x=1"


# ------------------------------------------------------------------------------------------ body sizes


async def _chunks(total: int, size: int = 1000) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


class BodyReader:
    """A bare ASGI upstream that reads the whole body and lets any error escape, as an HTTP connection
    does (a Starlette app would turn the gateway's own 413 into its plain-text answer)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class TestHeaderValues:
    async def test_values_are_forwarded_as_received_bytes_without_surrounding_whitespace(self) -> None:
        # a non-ASCII value answered 500 and a trailing tab 503 before (issue 13's fuzz run)
        rec = Recorder()
        sent = [(b"authorization", f"Bearer {token()}".encode()), (b"x-note", b"caf\xe9 au lait\t")]
        async with in_process_gateway({"workorders": rec.app}) as (app, _):
            answer = await raw_asgi(app, "GET", f"/v1/repogen/work-orders/{WO}".encode(), headers=sent)
        assert answer[0] == 200, answer
        assert rec.requests[0]["headers"]["x-note"] == "caf\xe9 au lait"

    async def test_a_bad_bearer_is_refused_not_failed(self) -> None:
        async with in_process_gateway({"workorders": Recorder().app}) as (app, _):
            answer = await raw_asgi(
                app,
                "GET",
                f"/v1/repogen/work-orders/{WO}".encode(),
                headers=[(b"authorization", b"Bearer \xff")],
            )
        _assert_error(*answer, 401, "TOKEN_INVALID")


class TestBodyClasses:
    async def test_declared_and_streamed_bodies_over_the_limit_of_their_class(self) -> None:
        rec = BodyReader()
        limits = {"max_json_body_bytes": 2000, "max_upload_body_bytes": 8000}
        async with in_process_gateway({"workorders": rec, "evidence": rec}, **limits) as (_, gw):
            auth = bearer(token())
            ok = await gw.post("/v1/repogen/work-orders", headers=auth, content=b"{" + b" " * 1990 + b"}")
            declared = await gw.post("/v1/repogen/work-orders", headers=auth, content=b"x" * 2001)
            streamed = await gw.post("/v1/repogen/work-orders", headers=auth, content=_chunks(5000))
            upload_ok = await gw.post("/v1/documents", headers=auth, content=b"x" * 7000)
            upload_big = await gw.post("/v1/documents", headers=auth, content=b"x" * 8001)
            login_big = await gw.post("/v1/auth/login", content=_chunks(5000))
            bad_length = await gw.post(
                "/v1/repogen/work-orders", headers={**auth, "content-length": "1e3"}, content=b"x"
            )
        assert ok.status_code == 201
        assert upload_ok.status_code == 201  # uploads have the bigger class
        for resp, limit, cls in (
            (declared, 2000, "json"),
            (streamed, 2000, "json"),
            (upload_big, 8000, "upload"),
            (login_big, 2000, "json"),
        ):
            assert resp.status_code == 413, resp.text
            assert resp.json()["code"] == "PAYLOAD_TOO_LARGE"
            assert resp.json()["details"] == {"max_bytes": limit, "body_class": cls}
        assert bad_length.status_code == 400
        assert bad_length.json()["code"] == "INVALID_CONTENT_LENGTH"
        assert [len(b) for b in rec.bodies] == [1992, 7000]  # nothing oversized got through


# ---------------------------------------------------------------------------------- URL and headers


class TestHeadLimits:
    async def test_long_url_and_large_headers_answer_json(self) -> None:
        async with in_process_gateway() as (_, gw):
            long_url = await gw.get("/v1/repogen/work-orders?search=" + "a" * 9000, headers=bearer(token()))
            big_header = await gw.get("/v1/meta", headers={"x-junk": "a" * 40_000})
            many = await gw.get("/v1/meta", headers={f"x-h{i}": "v" for i in range(150)})
        assert long_url.status_code == 414
        assert long_url.json()["code"] == "URI_TOO_LONG"
        assert long_url.json()["details"] == {"max_url_bytes": 8192}
        assert long_url.headers["x-request-id"]
        for resp in (big_header, many):
            assert resp.status_code == 431
            assert resp.json()["code"] == "REQUEST_HEADERS_TOO_LARGE"


# --------------------------------------------------------------------------------- consistency tokens


def _writer_app() -> Starlette:
    """An upstream whose every POST writes a new aggregate (a token per path segment)."""

    async def write(request: Request) -> Response:
        wo = request.path_params["wo"]
        return JSONResponse(
            {"id": wo}, status_code=201, headers={"x-zenops-version": f"workorders:work-order:{wo}:1"}
        )

    return Starlette(routes=[Route("/v1/repogen/work-orders/{wo}/status", write, methods=["POST"])])


class TestClientTokens:
    async def test_too_many_or_malformed_tokens_are_400_and_reach_nobody(self) -> None:
        rec = Recorder()
        fake = [f"workorders:work-order:{i:08d}-0000-0000-0000-000000000000:{i + 1}" for i in range(200)]
        async with in_process_gateway({"factory": rec.app}) as (_, gw):
            url = f"/v1/repogen/work-orders/{WO}/pack"
            auth = bearer(token())
            many = await gw.get(url, headers={**auth, "x-zenops-after": ",".join(fake)})
            just_over = await gw.get(
                url, headers={**auth, "x-zenops-after": ",".join(fake[: MAX_CLIENT_TOKENS + 1])}
            )
            at_cap = await gw.get(url, headers={**auth, "x-zenops-after": ",".join(fake[:MAX_CLIENT_TOKENS])})
            malformed = await gw.get(url, headers={**auth, "x-zenops-after": "workorders:work-order:x"})
            unicode_digit = await gw.get(
                url,
                headers={
                    **{name.encode(): value.encode() for name, value in auth.items()},
                    b"x-zenops-after": "factory:pack:abc:²".encode(),
                },
            )
            huge_version = await gw.get(url, headers={**auth, "x-zenops-after": f"factory:pack:a:{2**63}"})
            long_id = await gw.get(
                url, headers={**auth, "x-zenops-after": "factory:pack:" + "a" * 300 + ":1"}
            )
        assert (many.status_code, many.json()["code"]) == (400, "TOO_MANY_CONSISTENCY_TOKENS")
        assert (just_over.status_code, just_over.json()["code"]) == (400, "TOO_MANY_CONSISTENCY_TOKENS")
        assert many.json()["details"]["max_tokens"] == MAX_CLIENT_TOKENS
        for resp in (malformed, unicode_digit, huge_version, long_id):
            assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_CONSISTENCY_TOKEN"), resp.text
        assert at_cap.status_code == 200
        assert len(rec.requests) == 1  # only the request at the cap reached factory
        assert len(rec.requests[0]["headers"]["x-zenops-after"].split(",")) == MAX_CLIENT_TOKENS

    async def test_the_gateways_own_tokens_are_not_capped_at_the_client_limit(self) -> None:
        reader = Recorder()
        async with in_process_gateway({"workorders": _writer_app(), "evidence": reader.app}) as (_, gw):
            auth = bearer(token())
            ids = [f"{i:08d}-1111-1111-1111-111111111111" for i in range(MAX_CLIENT_TOKENS + 8)]
            for wo in ids:
                assert (
                    await gw.post(f"/v1/repogen/work-orders/{wo}/status", headers=auth, json={})
                ).is_success
            read = await gw.get(f"/v1/repogen/work-orders/{WO}/evidence", headers=auth)
        assert read.status_code == 200
        forwarded = reader.requests[0]["headers"]["x-zenops-after"].split(",")
        assert len(forwarded) == MAX_CLIENT_TOKENS + 8

    async def test_each_service_receives_only_the_tokens_it_projects(self) -> None:
        recorders = {name: Recorder() for name in ("workorders", "evidence", "factory", "billing")}
        sent = ",".join(
            [
                f"workorders:work-order:{WO}:3",
                f"evidence:work-order-evidence:{WO}:2",
                f"billing:work-order-billing:{WO}:4",
                f"factory:pack:{WO}:5",
                "billing:account:acc-1:9",
            ]
        )
        reads = {
            "workorders": f"/v1/repogen/work-orders/{WO}",
            "evidence": f"/v1/repogen/work-orders/{WO}/evidence",
            "factory": f"/v1/repogen/work-orders/{WO}/pack",
            "billing": f"/v1/billing/work-orders/{WO}",
        }
        async with in_process_gateway({n: r.app for n, r in recorders.items()}) as (_, gw):
            for path in reads.values():
                assert (await gw.get(path, headers={**bearer(token()), "x-zenops-after": sent})).is_success
        for name, rec in recorders.items():
            header = rec.requests[0]["headers"].get("x-zenops-after", "")
            got = {tuple(t.split(":")[:2]) for t in header.split(",") if t}
            assert got == set(PROJECTED_BY[name]), name


# -------------------------------------------------------------------------------------------- errors


class TestUnexpectedErrors:
    async def test_a_gateway_bug_is_a_json_500_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        async def explode(_request: Request) -> Response:
            raise RuntimeError("secret detail from deep inside")

        broken = Starlette(routes=[Route("/{path:path}", explode)])
        caplog.set_level(logging.ERROR)
        # ASGITransport re-raises what escapes an app: the answer below proves nothing escaped (so
        # uvicorn has nothing left to log a second time)
        async with in_process_gateway({"workorders": broken}) as (_, gw):
            resp = await gw.get(
                f"/v1/repogen/work-orders/{WO}", headers={**bearer(token()), "x-request-id": "rid-9"}
            )
        assert resp.status_code == 500
        assert resp.json() == {
            "code": "INTERNAL_ERROR",
            "message": "internal error",
            "details": {"request_id": "rid-9"},
        }
        assert resp.headers["x-request-id"] == "rid-9"
        assert "secret" not in resp.text
        assert "Traceback" not in resp.text
        logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
        assert len(logged) == 1
        assert logged[0].exc_info is not None  # with its traceback, once

    async def test_a_service_bug_is_a_json_500_with_a_request_id(self) -> None:
        app: FastAPI = create_service_app(ServiceSettings(service_name="probe", env="test"), title="probe")

        @app.get("/boom")
        async def boom() -> dict[str, str]:
            raise KeyError("column secret")

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            resp = await client.get("/boom", headers={"x-request-id": "not a sane id\t<script>"})
        assert resp.status_code == 500
        body = resp.json()
        assert body["code"] == "INTERNAL_ERROR"
        rid = resp.headers["x-request-id"]
        assert body["details"] == {"request_id": rid}
        assert "<script>" not in rid  # a junk request id is replaced, never echoed

    async def test_upstream_down_is_503_with_retry_after(self) -> None:
        async with in_process_gateway() as (_, gw):
            down = await gw.get(f"/v1/repogen/work-orders/{WO}", headers=bearer(token()))
        assert down.status_code == 503
        assert down.json()["code"] == "UPSTREAM_UNAVAILABLE"
        assert down.headers["retry-after"] == "5"
        assert down.headers["x-request-id"]


# ------------------------------------------------------------------------------ uvicorn's own errors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _raw_http(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
    except ConnectionError:
        pass
    data = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


class TestServerProtocolErrors:
    async def test_requests_uvicorn_cannot_parse_answer_json(self) -> None:
        async def ok(_: Request) -> Response:
            return JSONResponse({"ok": True})

        port = _free_port()
        config = uvicorn.Config(
            Starlette(routes=[Route("/{p:path}", ok)]),
            host="127.0.0.1",
            port=port,
            http=JsonErrorsHttpToolsProtocol,
            log_level="critical",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:

            async def _started() -> bool:
                return bool(server.started)

            await eventually(_started, "the uvicorn server to start", every_s=0.02)
            cases = {
                "url": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI_TOO_LONG"),
                "header": (
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n",
                    431,
                    "REQUEST_HEADERS_TOO_LARGE",
                ),
                "garbage": (b"NOT HTTP AT ALL\r\n\r\n", 400, "INVALID_HTTP_REQUEST"),
            }
            for name, (request, status, code) in cases.items():
                got, headers, body = await _raw_http(port, request)
                assert got == status, name
                assert headers["content-type"] == "application/json", name
                payload = json.loads(body)
                assert payload["code"] == code
                assert payload["details"]["request_id"] == headers["x-request-id"]
            fine, _, body = await _raw_http(port, b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert (fine, json.loads(body)) == (200, {"ok": True})
        finally:
            server.should_exit = True
            await task
