"""The merged OpenAPI document of the public surface (``GET /openapi.json`` on the gateway).

Each service's own document is fetched from ``<upstream>/openapi.json`` and cached; only the operations the
route table sends to that service are kept, so the document describes exactly what the gateway serves.
Component names that two services define differently are prefixed with the service name (and their
``$ref``s rewritten); an upstream that cannot be reached keeps its last good document, or is listed as
unavailable in ``x-zenops-upstreams``.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gateway_service.routes import GATEWAY, RouteTable

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
                paths.setdefault(template, {})[method] = operation
    components.setdefault("securitySchemes", {}).update(
        {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "serviceToken": {"type": "apiKey", "in": "header", "name": "x-service-token"},
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


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
