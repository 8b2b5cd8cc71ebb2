"""FastAPI plumbing shared by every service: request ids, tracing, normalized errors, health, metrics.

Server spans come from OpenTelemetry's FastAPI/ASGI instrumentation (continuing the caller's
``traceparent``); :class:`RequestContextMiddleware` adds what it cannot know: the request id, the
work order and tenant as attributes, the error code of a failed request, and the trace id as the
``x-trace-id`` response header (so a client, the demo, finds its trace).
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware, asgi_getter
from opentelemetry.instrumentation.fastapi import _get_default_span_details
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.http import parse_excluded_urls
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth.principal import Principal
from shared.auth.tokens import TokenVerifier
from shared.availability import service_unavailable, unavailable_dependency
from shared.consistency import ProjectedNotFound, not_found_or_not_yet, tracking_awaited_tokens
from shared.errors import DomainError, Unauthorized, error_body
from shared.health import Readiness, install_probes
from shared.settings import ServiceSettings
from shared.telemetry.context import request_id_var
from shared.telemetry.metrics import HTTP_SERVER_DURATION, route_template
from shared.telemetry.tracing import (
    ERROR_CODE,
    REQUEST_ID,
    WORK_ORDER_ID,
    current_trace_id,
    record_error,
    recording,
)

log = logging.getLogger(__name__)

TRACE_ID_HEADER = "x-trace-id"
"""Response header with the request's trace id (32 hex digits): ``<zipkin>/zipkin/traces/<id>``."""
#: routes without server spans (probes and scrapes would bury the traces that matter)
UNTRACED_URLS = "/healthz,/readyz,/metrics"

DEPENDENCY_UNAVAILABLE = Counter(
    "zenops_http_dependency_unavailable_total",
    "Requests answered 503 SERVICE_UNAVAILABLE because the database or the broker was away",
    ["service", "dependency"],
)

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
}


def validation_details(exc: RequestValidationError) -> dict[str, Any]:
    """Field paths and messages of a request validation failure."""
    issues = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        issues.append({"path": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type", "")})
    return {"issues": issues}


#: statuses whose ``details.retry_after_s`` becomes a ``Retry-After`` header
_RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})


def error_response(exc: DomainError, *, retry_after_s: int | None = None) -> JSONResponse:
    """The normalized response of an :class:`DomainError` (with ``Retry-After`` where it applies:
    ``details.retry_after_s``, else ``retry_after_s`` for a 503, which always says when to come back)."""
    headers = None
    trace.get_current_span().set_attribute(ERROR_CODE, exc.code)
    retry_after = exc.details.get("retry_after_s")
    if exc.status == 503 and not isinstance(retry_after, int):
        retry_after = retry_after_s
    if exc.status in _RETRY_AFTER_STATUSES and isinstance(retry_after, int):
        # decision 30: a refused client learns when to come back
        headers = {"Retry-After": str(retry_after)}
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def internal_error_response(request_id: str | None) -> JSONResponse:
    """The only body an unexpected failure ever shows: no exception text, no traceback."""
    return JSONResponse(
        error_body("INTERNAL_ERROR", "internal error", {"request_id": request_id}), status_code=500
    )


def install_error_handlers(app: FastAPI, *, retry_after_s: int = 2) -> None:
    """Every error leaves as ``{"code", "message", "details"}``.

    A :class:`~shared.consistency.ProjectedNotFound` is answered 404 only when nothing says the aggregate
    may still arrive, else 503 ``NOT_YET_CONSISTENT`` with ``Retry-After`` (issue 19); the consumer's
    catch-up is asked through ``app.state.catchup`` (a ``shared.catchup.CatchUp``) when the app has one.
    """

    @app.exception_handler(DomainError)
    async def _app_error(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc, retry_after_s=retry_after_s)

    @app.exception_handler(ProjectedNotFound)
    async def _projected(request: Request, exc: ProjectedNotFound) -> JSONResponse:
        catchup = getattr(request.app.state, "catchup", None)
        caught_up = catchup.caught_up if catchup is not None else None
        return error_response(await not_found_or_not_yet(exc, caught_up, retry_after_s=retry_after_s))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc)
        first = details["issues"][0] if details["issues"] else {"path": "", "message": "invalid request"}
        message = f"{first['path']}: {first['message']}" if first["path"] else str(first["message"])
        trace.get_current_span().set_attribute(ERROR_CODE, "VALIDATION_FAILED")
        return JSONResponse(error_body("VALIDATION_FAILED", message, details), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        carried = getattr(exc, "app_error", None)
        if isinstance(carried, DomainError):
            # raised where FastAPI only lets HTTPException through (e.g. while it reads the body)
            return error_response(carried, retry_after_s=retry_after_s)
        code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
        trace.get_current_span().set_attribute(ERROR_CODE, code)
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, _exc: Exception) -> JSONResponse:
        # Only reached when the request-context middleware itself fails (it answers every other
        # unexpected error); Starlette re-raises afterwards, so the server logs the traceback.
        return internal_error_response(request_id_var.get())


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
#: the work order a request is about (``zenops.work_order_id``): every route names it the same way
_WORK_ORDER_PATH = re.compile(r"/work-orders/([0-9A-Za-z-]{1,64})(?:/|$)")


def request_id_of(headers: Headers) -> str:
    """The caller's ``x-request-id`` when it is a sane token, else a fresh uuid (never echo junk)."""
    given = headers.get("x-request-id")
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return str(uuid.uuid4())


_IDS = RandomIdGenerator()
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def spans_recorded() -> bool:
    """Whether this process records spans (:func:`shared.telemetry.tracing.recording`: an exporter or a
    test's processor is configured). With tracing off (``ZENOPS_TRACING=off``: no endpoint) nothing is,
    and a server span would be made, filled and dropped for nothing on every request."""
    return recording()


def _context_span(scope: Scope) -> otel_context.Context:
    """The trace context of a request when no span is recorded: the caller's ``traceparent`` continued
    (same trace id, flags and state) by a non-recording span of its own, or a new sampled root, as the
    SDK's ``ParentBased(QuietRoots)`` would start it. Log lines, ``x-trace-id``, outgoing calls and the
    events the request writes carry it exactly as they carry a recorded server span's."""
    parent = propagate.extract(scope, getter=asgi_getter)  # type: ignore[misc]  # the ASGI getter reads the scope
    caller = trace.get_current_span(parent).get_span_context()
    if caller.is_valid:
        own = SpanContext(
            caller.trace_id, _IDS.generate_span_id(), False, caller.trace_flags, caller.trace_state
        )
    else:
        own = SpanContext(_IDS.generate_trace_id(), _IDS.generate_span_id(), False, _SAMPLED)
    return trace.set_span_in_context(NonRecordingSpan(own), parent)


class RequestContextMiddleware:
    """The one middleware of a service around its routes (issue 18: one layer instead of four):

    * the **server span**: OpenTelemetry's ASGI middleware (continuing the caller's ``traceparent``, span
      named after the route) when spans are recorded (:func:`spans_recorded`), else only the trace
      context (:func:`_context_span`), which is all a span nobody exports would have given;
    * the **request id** (``x-request-id``) and the trace id (``x-trace-id``) on the answer, the span's
      attributes (request id, work order);
    * the last line of defence: an exception nothing else handled is logged here ONCE with its traceback
      and answered as a JSON 500 ``INTERNAL_ERROR`` carrying the request id (never re-raised, so the
      server does not log it a second time). A failure that means the database or the broker is away
      (:func:`shared.availability.unavailable_dependency`) is no bug: it is answered 503
      ``SERVICE_UNAVAILABLE`` with ``Retry-After: retry_after_s`` and logged as one WARNING line without
      traceback;
    * the **HTTP metric** ``zenops_http_server_duration_seconds`` (route template, status sent: the one
      the error handling above chose).

    A pure ASGI middleware: responses stream through untouched.
    """

    def __init__(self, app: ASGIApp, service: str, retry_after_s: int = 2) -> None:
        self.app = app
        self.service = service
        self.retry_after_s = retry_after_s
        self._traced = OpenTelemetryMiddleware(
            self._observed,
            excluded_urls=parse_excluded_urls(UNTRACED_URLS),
            default_span_details=_get_default_span_details,
            exclude_spans=["receive", "send"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if spans_recorded():
            # The request starts from no span, whatever context the server created its task in: asyncio can
            # run a keep-alive connection's next request in the context of the request that resumed reading
            # (python/cpython#140947), and OpenTelemetry's middleware then makes an INTERNAL child of that
            # earlier request instead of a SERVER span continuing the caller's ``traceparent``.
            fresh = otel_context.attach(otel_context.Context())
            try:
                await self._traced(scope, receive, send)
            finally:
                otel_context.detach(fresh)
            return
        token = otel_context.attach(_context_span(scope))
        try:
            await self._observed(scope, receive, send)
        finally:
            otel_context.detach(token)

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request with its metric: observed once it has answered (a failure that escaped
        everything counts as 500)."""
        if scope["type"] != "http":  # the ASGI middleware passes lifespan and websockets through here
            await self.app(scope, receive, send)
            return
        status = [500]

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            await self._in_context(scope, receive, _send)
        finally:
            HTTP_SERVER_DURATION.labels(
                self.service, str(scope.get("method", "")), route_template(scope), str(status[0])
            ).observe(time.perf_counter() - started)

    async def _in_context(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        rid = request_id_of(headers)
        method = str(scope.get("method", ""))
        route = str(scope.get("path", ""))
        state = {"started": False}
        ours = [(b"x-request-id", rid.encode("latin-1"))]
        trace_id = current_trace_id()
        if trace_id:
            ours.append((TRACE_ID_HEADER.encode(), trace_id.encode()))
        replaced = {name for name, _ in ours}
        span = trace.get_current_span()
        recording = span.is_recording()
        if recording:
            span.set_attribute(REQUEST_ID, rid)
            work_order = _WORK_ORDER_PATH.search(route)
            if work_order:
                span.set_attribute(WORK_ORDER_ID, work_order.group(1))

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() not in replaced]
                message = {**message, "headers": [*raw, *ours]}
            await send(message)

        token = request_id_var.set(rid)
        try:
            try:
                with tracking_awaited_tokens():
                    await self.app(scope, receive, _send)
            except Exception as exc:
                record_error(span, exc)
                dependency = unavailable_dependency(exc)
                if dependency is not None:
                    log.warning(
                        "dependency unavailable",
                        extra={
                            "method": method,
                            "path": route[:512],
                            "dependency": dependency,
                            "error": type(exc).__name__,
                        },
                    )
                    DEPENDENCY_UNAVAILABLE.labels(self.service, dependency).inc()
                    answer = error_response(service_unavailable(dependency, self.retry_after_s))
                else:
                    # the formatter adds request id, trace id and the traceback (``exc``)
                    log.exception("unhandled error", extra={"method": method, "path": route[:512]})
                    span.set_attribute(ERROR_CODE, "INTERNAL_ERROR")
                    answer = internal_error_response(rid)
                if not state["started"]:  # a body already under way can only be cut short
                    await answer(scope, receive, _send)
        finally:
            request_id_var.reset(token)


def install_request_context(app: FastAPI, service: str, *, retry_after_s: int = 2) -> None:
    """Server spans, request id, span attributes, the HTTP metric, the JSON 500 and the 503 of an away
    dependency: one middleware (:class:`RequestContextMiddleware`)."""
    app.add_middleware(RequestContextMiddleware, service=service, retry_after_s=retry_after_s)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    readiness: Readiness | None = None,
    probe_dependencies: Sequence[Any] = (),
    **kwargs: Any,
) -> FastAPI:
    """A FastAPI app with the shared middleware, error handlers, ``/healthz``, ``/readyz`` and ``/metrics``.

    ``readiness`` holds the probes of ``/readyz`` (:mod:`shared.health`): the database, broker and stream
    heartbeat of a service, the upstreams' ``/readyz`` of the gateway; ``probe_dependencies`` run before
    both probes (the gateway's rate limit).
    """
    # FastAPI's own telemetry stays off: the server spans are RequestContextMiddleware's (it would only
    # ask, on every request, whether it should make them)
    kwargs.setdefault("telemetry", {"tracing": False, "metrics": False, "logs": False})
    app = FastAPI(title=title, **kwargs)
    install_error_handlers(app, retry_after_s=settings.retry_after_s)
    install_request_context(app, settings.service_name, retry_after_s=settings.retry_after_s)
    install_probes(app, settings.service_name, readiness, probe_dependencies)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class Authenticator:
    """Resolves the caller of a request (services verify the JWT again, architecture §6).

    401 = no or invalid identity, 403 = identity without the capability (decision 21).
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._verifier = TokenVerifier(
            secret=settings.jwt_secret.get_secret_value(),
            jwks_url=settings.jwks_url,
            audiences=settings.jwt_audiences,
        )

    def bearer(self, request: Request) -> str | None:
        """The bearer token of the ``Authorization`` header, if any."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    async def jwt(self, request: Request) -> Principal:
        """The verified JWT principal; 401 ``TOKEN_MISSING`` / ``TOKEN_INVALID`` / ``TOKEN_EXPIRED`` /
        ``AUDIENCE_MISMATCH``."""
        token = self.bearer(request)
        if not token:
            raise Unauthorized("missing bearer token", code="TOKEN_MISSING")
        return await self._verifier.verify(token)

    def service_token(self, request: Request) -> Principal:
        """V1's studio service token (``x-service-token`` or a bearer), compared in constant time
        (domain.md §8: 401 ``STUDIO_SERVICE_TOKEN_NOT_CONFIGURED`` / ``INVALID_STUDIO_SERVICE_TOKEN``)."""
        expected = self._settings.service_token.get_secret_value()
        if not expected:
            raise Unauthorized(
                "studio service token not configured", code="STUDIO_SERVICE_TOKEN_NOT_CONFIGURED"
            )
        supplied = request.headers.get("x-service-token") or self.bearer(request) or ""
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise Unauthorized("invalid studio service token", code="INVALID_STUDIO_SERVICE_TOKEN")
        return Principal(sub="service", aud="service", tenant_id=None, user_id=None, kind="service")

    async def studio(self, request: Request) -> Principal:
        """Studio control plane: an ``aud=studio`` JWT or the studio admin bearer (domain.md §9.5).

        The admin bearer is compared in constant time and acts as a studio super-admin.
        """
        token = self.bearer(request)
        admin = self._settings.studio_admin_token.get_secret_value()
        if token and admin and hmac.compare_digest(token.encode(), admin.encode()):
            return Principal(
                sub="studio-admin",
                aud="studio",
                tenant_id=None,
                user_id=None,
                roles=("super_admin",),
                capabilities=frozenset({"*"}),
                kind="studio_admin",
            )
        principal = await self.jwt(request)
        if principal.aud != "studio":
            raise Unauthorized("audience mismatch", code="AUDIENCE_MISMATCH")
        return principal
