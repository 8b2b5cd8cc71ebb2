"""The proxy: a stateless edge with no business logic (architecture §6, §10).

Per request: refuse a malformed head, a non-canonical path or an oversized body (``gateway_service.edge``),
resolve the route row (404 ``ROUTE_NOT_FOUND`` when none or out of scope), authenticate by the row's mode
(401), rate-limit per client (429 + ``Retry-After``), check the row's capability (403), attach the
client's consistency tokens (``x-zenops-after``: at most 32 sent by the client, and only those of
aggregates the owning service projects), and stream the request to the owning service and its answer
back — bodies untouched, byte for byte (webhook signatures are verified over them), on the very path that
was matched.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry import trace
from starlette.background import BackgroundTask

from gateway_service.errors import (
    ControlRateLimitExceeded,
    RouteNotFound,
    UnforwardableRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway_service.metrics import GATEWAY_REQUESTS, RATE_LIMITED, UPSTREAM_ERRORS, UPSTREAM_LATENCY
from gateway_service.ratelimit import RateLimiter
from gateway_service.routes import CONTROL, GATEWAY, PROJECTED_BY, UPSTREAMS, Auth, Route, RouteTable
from gateway_service.settings import Settings
from gateway_service.tokens import ClientTokens
from shared.auth.principal import Principal
from shared.consistency import (
    AFTER_HEADER,
    VERSION_HEADER,
    VersionToken,
    format_tokens,
    parse_client_tokens,
    parse_tokens,
)
from shared.errors import DomainError, TooManyRequests, Unauthorized, error_body
from shared.health import OK, Probe, Readiness
from shared.http import Authenticator
from shared.ops.auth import ops_principal
from shared.telemetry import inject_headers
from shared.telemetry.context import request_id_var
from shared.telemetry.tracing import TENANT_ID

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy sets itself never cross the gateway.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {AFTER_HEADER, "traceparent", "tracestate", "x-request-id"}
_NOT_RETURNED = _HOP_BY_HOP | {"x-request-id"}


def _route_not_found(method: str, path: str, *, out_of_scope: bool = False) -> RouteNotFound:
    details: dict[str, Any] = {"method": method, "path": path}
    if out_of_scope:
        details["reason"] = "OUT_OF_SCOPE"  # decision 34
    return RouteNotFound(f"route {method} {path} not found", details=details)


class Gateway:
    """The edge's per-process state and request handling (kept out of the route closures for tests)."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient, table: RouteTable) -> None:
        self.settings = settings
        self.client = client
        self.table = table
        self.auth = Authenticator(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
        self.control_limiter = RateLimiter(
            settings.control_rate_limit_per_minute, error=ControlRateLimitExceeded
        )
        self.tokens = ClientTokens(
            per_client=settings.consistency_tokens_per_client,
            max_clients=settings.consistency_max_clients,
            ttl_s=settings.consistency_token_ttl_s,
        )
        self.upstreams = {name: settings.upstream_url(name) for name in UPSTREAMS}

    # ------------------------------------------------------------------ identity and limits

    def client_ip(self, request: Request) -> str:
        if self.settings.trust_forwarded_for:
            forwarded = request.headers.get("x-forwarded-for", "")
            first = forwarded.split(",")[0].strip()
            if first:
                return first
        return request.client.host if request.client else "unknown"

    def limit(self, limiter: RateLimiter, key: str, bucket: str) -> None:
        try:
            limiter.check(key)
        except TooManyRequests:
            RATE_LIMITED.labels(bucket).inc()
            raise

    def limit_client(self, request: Request) -> None:
        """The per-IP limit of an anonymous request (429 ``RATE_LIMITED``)."""
        self.limit(self.limiter, f"ip:{self.client_ip(request)}", "client")

    async def authenticate(self, route: Route, request: Request) -> Principal | None:
        """The caller by the row's auth mode; ``None`` for public and webhook rows."""
        if route.auth is Auth.JWT:
            return await self.auth.jwt(request)
        if route.auth is Auth.SERVICE_TOKEN:
            return self.auth.service_token(request)
        if route.auth is Auth.STUDIO_ADMIN:
            return await self.auth.studio(request)
        if route.auth is Auth.OPS:
            return await ops_principal(self.auth, request)
        return None

    # ------------------------------------------------------------------ proxying

    async def handle(self, request: Request) -> Response:
        # the decoded path uvicorn matched on; ``edge.check_path`` made sure it is the raw one, decoded
        method, path = request.method, str(request.scope["path"])
        route = self.table.resolve(method, path)
        if route is not None:
            trace.get_current_span().update_name(f"{method} {route.template}")
        status = 500
        try:
            if route is None or route.out_of_scope or route.service == GATEWAY:
                # gateway rows are served by their own handlers; reaching here means a wrong method
                self.limit_client(request)
                raise _route_not_found(method, path, out_of_scope=route is not None and route.out_of_scope)
            response = await self._admit_and_forward(request, route)
            status = response.status_code
            return response
        except DomainError as exc:
            status = exc.status
            raise
        finally:
            GATEWAY_REQUESTS.labels(
                route.template if route else "unmatched", route.service if route else "-", method, str(status)
            ).inc()

    async def _admit_and_forward(self, request: Request, route: Route) -> Response:
        ip = self.client_ip(request)
        # the client's own tokens: bounded and well formed, or 400 before anything else happens
        sent = parse_client_tokens(",".join(request.headers.getlist(AFTER_HEADER)))
        try:
            principal = await self.authenticate(route, request)
        except Unauthorized:
            # unauthenticated floods are throttled by address, then still answered 401
            self.limit(self.limiter, f"ip:{ip}", "client")
            raise
        if principal is not None and principal.tenant_id:
            trace.get_current_span().set_attribute(TENANT_ID, str(principal.tenant_id))
        client_key = principal.client_key if principal is not None else f"ip:{ip}"
        self.limit(self.limiter, client_key, "client")
        if route.bucket == CONTROL:
            self.limit(self.control_limiter, f"ip:{ip}", CONTROL)
        if route.capability and principal is not None:
            principal.require(route.capability)
        return await self.forward(
            request, route, client_key if principal is not None else None, ip, sent=sent
        )

    def _upstream_headers(
        self, request: Request, service: str, client_key: str | None, ip: str, sent: list[VersionToken]
    ) -> list[tuple[bytes, bytes]]:
        # as bytes, as received (obs-text included), less the optional whitespace around each value
        # that the server kept and that is no part of the value (RFC 9110 §5.5)
        headers = [
            (k, v.strip(b" \t"))
            for k, v in request.headers.raw
            if k.decode("latin-1").lower() not in _NOT_FORWARDED and k.lower() != b"x-forwarded-for"
        ]
        projected = PROJECTED_BY.get(service, frozenset())
        # only tokens of aggregates this service projects: it could never reach any other version
        after = [t for t in self.tokens.after(client_key, sent) if (t.service, t.aggregate) in projected]
        if after:
            headers.append((AFTER_HEADER.encode(), format_tokens(after).encode()))
        headers.append((b"x-request-id", (request_id_var.get() or "").encode()))
        prior = request.headers.get("x-forwarded-for", "").strip(" \t")
        headers.append((b"x-forwarded-for", (f"{prior}, {ip}" if prior else ip).encode("latin-1")))
        if "x-forwarded-proto" not in request.headers:
            headers.append((b"x-forwarded-proto", request.url.scheme.encode()))
        if "x-forwarded-host" not in request.headers and "host" in request.headers:
            headers.append((b"x-forwarded-host", request.headers["host"].encode("latin-1")))
        return headers

    async def forward(
        self,
        request: Request,
        route: Route,
        client_key: str | None,
        ip: str,
        *,
        sent: list[VersionToken] | None = None,
    ) -> Response:
        service = route.service
        # the raw path, byte for byte: canonical (edge.check_path), so nothing on the way normalises it
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        url = self.upstreams[service] + raw_path.decode("ascii")
        query = request.scope.get("query_string") or b""
        if query:
            url += "?" + query.decode("latin-1")
        headers = self._upstream_headers(request, service, client_key, ip, sent or [])
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        # The body streams through untouched: never parsed, never re-serialized (webhook signatures).
        content = request.stream() if has_body else None
        # httpx's instrumentation makes the client span and writes its context over this one (which
        # stands when the instrumentation is off, e.g. an in-process transport)
        trace.get_current_span().set_attribute("zenops.upstream", service)
        headers.extend((k.encode(), v.encode()) for k, v in inject_headers({}).items())
        upstream_request = self.client.build_request(request.method, url, headers=headers, content=content)
        started = time.perf_counter()
        try:
            upstream = await self.client.send(upstream_request, stream=True)
        except httpx.ConnectTimeout as exc:
            raise self._unavailable(service, "connect_timeout", exc) from exc
        except httpx.TimeoutException as exc:
            UPSTREAM_ERRORS.labels(service, "timeout").inc()
            raise UpstreamTimeout(
                f"{service} did not answer in time",
                details={"service": service, "retry_after_s": self.settings.upstream_retry_after_s},
            ) from exc
        except httpx.LocalProtocolError as exc:
            # the request as received cannot be written as HTTP/1.1 (the client's bytes, not the
            # service, are at fault): a 503 would send the client to retry what can never succeed
            raise UnforwardableRequest(details={"reason": str(exc)[:200]}) from exc
        except httpx.TransportError as exc:
            raise self._unavailable(service, "transport", exc) from exc
        finally:
            UPSTREAM_LATENCY.labels(service, route.template).observe(time.perf_counter() - started)

        if client_key is not None and upstream.status_code < 400:
            written = parse_tokens(",".join(upstream.headers.get_list(VERSION_HEADER)))
            self.tokens.remember(client_key, written)

        content_type = upstream.headers.get("content-type", "")
        if upstream.status_code >= 400 and "json" not in content_type:
            # decision 21: a non-normalized upstream failure still leaves as {code, message, details}
            raw = await upstream.aread()
            await upstream.aclose()
            body = error_body(
                "UPSTREAM_ERROR",
                f"{service} answered {upstream.status_code}",
                {
                    "service": service,
                    "status": upstream.status_code,
                    "body": raw[:200].decode("utf-8", "replace"),
                },
            )
            retry_after = upstream.headers.get("retry-after")
            if upstream.status_code in (503, 504) and not retry_after:
                retry_after = str(self.settings.upstream_retry_after_s)
            # a 503/504 (or any answer naming one) keeps telling the client when to come back
            return JSONResponse(
                body,
                status_code=upstream.status_code,
                headers={"Retry-After": retry_after} if retry_after else None,
            )

        response = StreamingResponse(
            upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
        )
        response.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower() not in _NOT_RETURNED
        ] + [(b"x-zenops-service", service.encode())]
        return response

    def _unavailable(self, service: str, kind: str, exc: Exception) -> UpstreamUnavailable:
        UPSTREAM_ERRORS.labels(service, kind).inc()
        return UpstreamUnavailable(
            f"{service} is unavailable",
            details={
                "service": service,
                "error": type(exc).__name__,
                "retry_after_s": self.settings.upstream_retry_after_s,
            },
        )

    # ------------------------------------------------------------------ readiness

    def upstream_probe(self, base: str) -> Probe:
        """An upstream's ``/readyz``: ``ok``, ``not ready (<its failing checks>)`` or ``unavailable``."""

        async def probe() -> str:
            resp = await self.client.get(f"{base}/readyz", timeout=self.settings.health_timeout_s)
            if resp.status_code == 200:
                return OK
            try:
                details = resp.json().get("details") or {}
                failing = ", ".join(sorted(k for k, v in details.items() if v != OK))
            except (ValueError, AttributeError):
                failing = ""
            return f"not ready ({failing or resp.status_code})"

        return probe

    def readiness(self) -> Readiness:
        """The gateway is ready when every upstream's ``/readyz`` is."""
        return Readiness(
            {name: self.upstream_probe(base) for name, base in self.upstreams.items()},
            timeout_s=self.settings.health_timeout_s,
        )
