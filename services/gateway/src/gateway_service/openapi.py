"""The merged OpenAPI document of the public surface (``GET /openapi.json`` on the gateway).

Each service's own document is fetched from ``<upstream>/openapi.json`` and cached; only the operations the
route table sends to that service are kept, so the document describes exactly what the gateway serves
(rows marked out of scope answer 404 and are left out). Component names that two services define
differently are prefixed with the service name (and their ``$ref``s rewritten); an upstream that cannot
be reached keeps its last good document, or is listed as unavailable in ``x-zenops-upstreams``.

The gateway adds what its edge answers before a service sees the request (:func:`document_edge`), from
the same error classes the edge raises, and the security its route row demands where the service's own
operation declares none; the services' ``securitySchemes`` are kept as they are.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gateway_service.errors import (
    BodyTooLarge,
    ControlRateLimitExceeded,
    HeadersTooLarge,
    InvalidContentLength,
    InvalidPath,
    RateLimited,
    UnforwardableRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
    UriTooLong,
)
from gateway_service.routes import CONTROL, GATEWAY, Auth, Route, RouteTable
from shared.api import COMMON_FAILURES, SECURITY_SCHEMES, document_common_failures, document_failure
from shared.errors import DomainError

_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
_PARAM = re.compile(r"\{[^}]+\}")


def _sample_path(template: str) -> str:
    """An OpenAPI path template as a concrete path the route table can resolve."""
    return _PARAM.sub("x", template)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value in renames:
                out[key] = renames[value]
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


#: ``Retry-After`` of a 429/503/504 the gateway answers (decision 30)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds after which the request may succeed",
        "schema": {"type": "integer", "minimum": 0},
    }
}
#: what the edge refuses on any request (``gateway_service.edge``)
EDGE_FAILURES: tuple[type[DomainError], ...] = (
    InvalidPath,
    InvalidContentLength,
    UriTooLong,
    HeadersTooLarge,
)
#: what the proxy answers for a row it forwards (``gateway_service.proxy``)
PROXY_FAILURES: tuple[type[DomainError], ...] = (UnforwardableRequest,)
#: the proxy's answers when the service is down or slow (with ``Retry-After``)
UPSTREAM_FAILURES: tuple[type[DomainError], ...] = (UpstreamUnavailable, UpstreamTimeout)
#: ``x-zenops-after`` sent by the client is checked before forwarding (``shared.consistency``)
CLIENT_TOKEN_CODES = "INVALID_CONSISTENCY_TOKEN, TOO_MANY_CONSISTENCY_TOKENS"  # noqa: S105  error codes
#: the scheme (``shared.api.SECURITY_SCHEMES``) each authenticated row demands; alternatives are OR-ed
ROW_SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.JWT: [{"bearerAuth": []}],
    Auth.STUDIO_ADMIN: [{"bearerAuth": []}],
    Auth.SERVICE_TOKEN: [{"serviceToken": []}, {"bearerAuth": []}],
    Auth.OPS: [{"bearerAuth": []}, {"serviceToken": []}],
}


def _document(responses: dict[str, Any], *failures: type[DomainError], retry_after: bool = False) -> None:
    by_status: dict[int, list[str]] = {}
    for failure in failures:
        by_status.setdefault(failure.status, []).append(failure.code)
    for status, codes in sorted(by_status.items()):
        document_failure(responses, status, ", ".join(codes), headers=RETRY_AFTER if retry_after else None)


def document_edge(operation: dict[str, Any], route: Route) -> None:
    """Add to ``operation`` (in place) the failures the gateway answers itself for ``route``, and the
    security the row demands when the service's operation declares none."""
    responses = operation.setdefault("responses", {})
    _document(responses, *EDGE_FAILURES)
    if "requestBody" in operation:
        _document(responses, BodyTooLarge)
    limited = (RateLimited, ControlRateLimitExceeded) if route.bucket == CONTROL else (RateLimited,)
    _document(responses, *limited, retry_after=True)
    if route.service != GATEWAY:
        document_failure(responses, 400, CLIENT_TOKEN_CODES)
        _document(responses, *PROXY_FAILURES)
        _document(responses, *UPSTREAM_FAILURES, retry_after=True)
    security = ROW_SECURITY.get(route.auth)
    if security is not None:
        operation.setdefault("security", security)
        document_failure(responses, *COMMON_FAILURES["auth"])
    if route.capability:
        document_failure(responses, 403, "MISSING_CAPABILITIES")


def merge_documents(
    documents: Mapping[str, dict[str, Any]], table: RouteTable, *, title: str, version: str
) -> dict[str, Any]:
    """One document from the per-service ones, filtered to the route table."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, dict[str, Any]] = {}
    for service, original in sorted(documents.items()):
        doc = copy.deepcopy(original)
        renames: dict[str, str] = {}
        for section, entries in (doc.get("components") or {}).items():
            existing = components.get(section, {})
            if section == "securitySchemes":
                continue  # referred to by name, not $ref: every service declares the shared ones
            for name, value in entries.items():
                if name in existing and existing[name] != value:
                    renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{service}__{name}"
        if renames:
            doc = _rewrite_refs(doc, renames)
        for section, entries in (doc.get("components") or {}).items():
            merged = components.setdefault(section, {})
            for name, value in entries.items():
                renamed = f"#/components/{section}/{name}" in renames
                merged[f"{service}__{name}" if renamed else name] = value
        for template, item in (doc.get("paths") or {}).items():
            sample = _sample_path(template)
            for method in _HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                route = table.resolve(method.upper(), sample)
                if route is None or route.out_of_scope or route.service != service:
                    continue
                operation = dict(operation)
                operation["x-zenops-service"] = service
                operation["x-zenops-auth"] = str(route.auth)
                if route.capability:
                    operation["x-zenops-capability"] = route.capability
                document_edge(operation, route)
                paths.setdefault(template, {})[method] = operation
    schemes = components.setdefault("securitySchemes", {})
    for name, scheme in SECURITY_SCHEMES.items():
        schemes.setdefault(name, scheme)
    # the shared failures (400 for input, 401/403 for secured operations, 404 for path parameters)
    # and ErrorBody, for operations of services that do not document them yet; 422 never happens
    merged = document_common_failures(
        {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": dict(sorted(paths.items())),
            "components": components,
        }
    )
    for item in paths.values():
        for operation in item.values():
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return merged


class OpenApiAggregator:
    """Fetches and caches the upstream documents; builds the merged one on demand."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        upstreams: Mapping[str, str],
        table: RouteTable,
        *,
        local_document: Callable[[], dict[str, Any]],
        ttl_s: float = 60.0,
        timeout_s: float = 3.0,
        title: str = "ZenOps Repogen API",
        version: str = "v1",
    ) -> None:
        self._client = client
        self._upstreams = dict(upstreams)
        self._table = table
        self._local_document = local_document
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._title = title
        self._version = version
        self._cache: dict[str, tuple[dict[str, Any], float]] = {}
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str, base_url: str) -> str:
        cached = self._cache.get(service)
        if cached is not None and time.monotonic() - cached[1] < self._ttl_s:
            return "ok"
        try:
            resp = await self._client.get(f"{base_url}/openapi.json", timeout=self._timeout_s)
            resp.raise_for_status()
            document = resp.json()
            if not isinstance(document, dict):
                raise ValueError("openapi document is not an object")
        except (httpx.HTTPError, ValueError):
            return "stale" if cached is not None else "unavailable"
        self._cache[service] = (document, time.monotonic())
        return "ok"

    async def document(self) -> dict[str, Any]:
        """The merged document (upstreams refreshed when their cache entry is older than the TTL)."""
        async with self._lock:
            names = sorted(self._upstreams)
            states = await asyncio.gather(*(self._fetch(n, self._upstreams[n]) for n in names))
        documents = {n: self._cache[n][0] for n in names if n in self._cache}
        documents[GATEWAY] = self._local_document()
        merged = merge_documents(documents, self._table, title=self._title, version=self._version)
        merged["x-zenops-upstreams"] = dict(zip(names, states, strict=True))
        return merged
