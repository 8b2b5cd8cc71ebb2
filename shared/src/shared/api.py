"""The HTTP edge every service shares: its dependencies (container, callers) and a truthful OpenAPI.

Routes take their collaborators from here rather than from module globals::

    @router.get("/work-orders/{work_order_id}", response_model=WorkOrderView,
                responses=errors(WorkOrderNotFound))
    async def get_work_order(work_order_id: str, caller: Caller, c: ContainerDep) -> WorkOrderView: ...

* :data:`ContainerDep` is the service's :class:`~shared.container.ServiceContainer`, set on the app by
  :class:`shared.runtime.ServiceDefinition`.
* :data:`Caller`, :data:`StudioCaller` and :data:`ServiceCaller` verify the caller (architecture §6)
  and declare the matching OpenAPI security scheme, so every operation documents how it is called.
* :func:`errors` documents a route's failures from the :class:`~shared.errors.DomainError` classes it
  raises; :func:`install_truthful_openapi` adds what every operation shares (400 for invalid input,
  401/403 for secured operations, 404 for path parameters) and drops FastAPI's 422, which no service
  ever answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends, FastAPI, Request, Security
from fastapi.openapi.utils import get_openapi
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

from shared.auth.principal import Principal
from shared.availability import ServiceUnavailable
from shared.consistency import NotYetConsistent, ProjectedNotFound
from shared.errors import DomainError, ErrorBody
from shared.telemetry.tracing import TENANT_ID

if TYPE_CHECKING:
    from shared.container import ServiceContainer

__all__ = [
    "COMMON_FAILURES",
    "SECURITY_SCHEMES",
    "Caller",
    "ContainerDep",
    "ErrorBody",
    "ServiceCaller",
    "StudioCaller",
    "document_common_failures",
    "document_dependency_failures",
    "document_failure",
    "errors",
    "install_truthful_openapi",
]


#: the ``Retry-After`` header of a 429/503 (seconds), as an OpenAPI header object
RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds after which the request may succeed",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_RETRIED_STATUSES = frozenset({429, 503})


def errors(*failures: type[DomainError] | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route from the failures it raises.

    Each failure is a :class:`DomainError` subclass (its ``status`` and ``code``) or a
    ``(status, code)`` pair for a one-off instance; failures of one status share one response whose
    description lists their codes. A :class:`~shared.consistency.ProjectedNotFound` brings its 503
    ``NOT_YET_CONSISTENT``; a 429/503 documents its ``Retry-After`` header.
    """
    by_status: dict[int, set[str]] = {}
    for failure in failures:
        status, code = failure if isinstance(failure, tuple) else (failure.status, failure.code)
        by_status.setdefault(status, set()).add(code)
        if not isinstance(failure, tuple) and issubclass(failure, ProjectedNotFound):
            by_status.setdefault(NotYetConsistent.status, set()).add(NotYetConsistent.code)
    return {
        status: {
            "model": ErrorBody,
            "description": ", ".join(sorted(codes)),
            **({"headers": RETRY_AFTER_HEADER} if status in _RETRIED_STATUSES else {}),
        }
        for status, codes in sorted(by_status.items())
    }


def service_container(request: Request) -> ServiceContainer[Any]:
    """The container :class:`shared.runtime.ServiceDefinition` put on the app."""
    return cast("ServiceContainer[Any]", request.app.state.container)


if TYPE_CHECKING:
    ContainerDep = Annotated[ServiceContainer[Any], Depends(service_container)]
else:

    def __getattr__(name: str) -> Any:
        """``ContainerDep`` is built on first use: the container brings SQLAlchemy and the broker client,
        which the gateway (it imports this module for ``errors``) never needs (issue 18: RSS)."""
        if name == "ContainerDep":
            from shared.container import ServiceContainer

            dep = Annotated[ServiceContainer[Any], Depends(service_container)]
            globals()["ContainerDep"] = dep
            return dep
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_BEARER = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    scheme_name="bearerAuth",
    description="A JWT of the web, web-valuer, portal, worker, studio or service audience (HS256/RS256).",
)
_SERVICE_TOKEN = APIKeyHeader(
    name="x-service-token",
    auto_error=False,
    scheme_name="serviceToken",
    description="V1's studio service token (also accepted as a bearer).",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
ServiceTokenHeader = Annotated[str | None, Security(_SERVICE_TOKEN)]


def _traced(principal: Principal) -> Principal:
    """The caller's tenant on the request's server span (``zenops.tenant_id``)."""
    if principal.tenant_id:
        trace.get_current_span().set_attribute(TENANT_ID, str(principal.tenant_id))
    return principal


async def jwt_caller(request: Request, c: ContainerDep, _: Bearer) -> Principal:
    """The verified JWT principal (401 ``TOKEN_MISSING`` / ``TOKEN_INVALID`` / ...)."""
    return _traced(await c.auth.jwt(request))


async def studio_caller(request: Request, c: ContainerDep, _: Bearer) -> Principal:
    """A studio JWT or the studio admin bearer (domain.md §9.5)."""
    return await c.auth.studio(request)


def service_caller(request: Request, c: ContainerDep, _t: ServiceTokenHeader, _b: Bearer) -> Principal:
    """V1's studio service token (domain.md §8)."""
    return c.auth.service_token(request)


#: the OpenAPI ``components.securitySchemes`` the callers above declare, by scheme name
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    scheme.scheme_name: scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json")
    for scheme in (_BEARER, _SERVICE_TOKEN)
}

Caller = Annotated[Principal, Depends(jwt_caller)]
StudioCaller = Annotated[Principal, Depends(studio_caller)]
ServiceCaller = Annotated[Principal, Depends(service_caller)]

#: what any operation may answer besides its own failures, by the shape of the operation
COMMON_FAILURES: dict[str, tuple[int, str]] = {
    "input": (400, "VALIDATION_FAILED, TENANT_CONTEXT_REQUIRED, USER_CONTEXT_REQUIRED"),
    "auth": (
        401,
        "TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, AUDIENCE_MISMATCH, "
        "INVALID_STUDIO_SERVICE_TOKEN, STUDIO_SERVICE_TOKEN_NOT_CONFIGURED",
    ),
    "capability": (403, "FORBIDDEN, CAPABILITY_REQUIRED, PORTAL_*_FORBIDDEN"),
    "resource": (404, "NOT_FOUND and the resource's own *_NOT_FOUND"),
}

_METHODS = ("get", "put", "post", "delete", "patch")

#: what every traced answer carries (``shared.http.RequestContextMiddleware``), documented on every
#: success: the request id and the trace id (issue 17: ``<zipkin>/zipkin/traces/<x-trace-id>``)
TRACE_HEADERS: dict[str, Any] = {
    "x-request-id": {
        "description": "The request id (the caller's x-request-id when it is a sane token, else a new one).",
        "schema": {"type": "string", "maxLength": 128},
    },
    "x-trace-id": {
        "description": "The request's trace id (32 hex digits): its spans in the trace store, e.g. "
        "<zipkin>/zipkin/traces/<x-trace-id> on the dev stack.",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
}
_ERROR_REF = "#/components/schemas/ErrorBody"


def document_failure(
    responses: dict[str, Any], status: int, codes: str, *, headers: dict[str, Any] | None = None
) -> None:
    """Add a failure to an operation's OpenAPI ``responses`` (in place): an :class:`ErrorBody` response
    for ``status`` whose description lists ``codes``, merged into any response already there.

    ``headers`` are OpenAPI header objects the failure may carry (e.g. ``Retry-After``).
    """
    entry = responses.get(str(status))
    if entry is None:
        entry = responses[str(status)] = {
            "description": codes,
            "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
        }
    else:
        entry.setdefault("content", {"application/json": {"schema": {"$ref": _ERROR_REF}}})
        if codes not in entry.get("description", ""):
            entry["description"] = f"{entry.get('description', '')}; {codes}".strip("; ")
    if headers:
        entry.setdefault("headers", {}).update(headers)


def document_common_failures(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the failures every operation shares to an OpenAPI document (in place; returned too)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for item in (schema.get("paths") or {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, answer in responses.items():
                if status.startswith("2") and isinstance(answer, dict):
                    answer.setdefault("headers", {}).update(TRACE_HEADERS)
            parameters = operation.get("parameters") or []
            if parameters or "requestBody" in operation or operation.get("security"):
                document_failure(responses, *COMMON_FAILURES["input"])
            if operation.get("security"):
                document_failure(responses, *COMMON_FAILURES["auth"])
                document_failure(responses, *COMMON_FAILURES["capability"])
            if any(p.get("in") == "path" for p in parameters):
                document_failure(responses, *COMMON_FAILURES["resource"])
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def document_dependency_failures(schema: dict[str, Any]) -> dict[str, Any]:
    """Add 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` to every operation of a service's document
    (in place; returned too): each reaches the database (or the broker), which may be away. The probes
    (tag ``probes``) document their own 503."""
    for item in (schema.get("paths") or {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None or "probes" in (operation.get("tags") or ()):
                continue
            document_failure(
                operation.setdefault("responses", {}),
                ServiceUnavailable.status,
                ServiceUnavailable.code,
                headers=RETRY_AFTER_HEADER,
            )
    return schema


def install_truthful_openapi(app: FastAPI, *, dependencies: bool = False) -> None:
    """Make ``app.openapi()`` document the shared failures (see :func:`document_common_failures`);
    ``dependencies``: the app's routes reach a database or broker that may be away
    (:func:`document_dependency_failures`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = document_common_failures(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
            app.openapi_schema = document_dependency_failures(schema) if dependencies else schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook
