"""The console's only backend: the gateway's public HTTP API, called with the signed-in user's token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

WORK_ORDERS = "/v1/repogen/work-orders"


class GatewayError(Exception):
    """A refusal of the gateway (or of a service behind it): status plus ``{code, message, details}``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def of(cls, resp: httpx.Response) -> GatewayError:
        """The error an answer carries (a body that is not the normalized shape keeps its text)."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            details = body.get("details")
            if details is None and "readiness" in body:
                details = {"readiness": body["readiness"]}
            return cls(
                resp.status_code,
                str(body.get("code") or resp.status_code),
                str(body.get("message") or resp.reason_phrase),
                details,
            )
        return cls(resp.status_code, str(resp.status_code), resp.text[:300] or resp.reason_phrase)


class Gateway:
    """Typed-enough calls to the gateway; every method raises :class:`GatewayError` on a non-2xx."""

    def __init__(self, client: httpx.AsyncClient, token: str | None) -> None:
        self._client = client
        self._headers = {"authorization": f"Bearer {token}"} if token else {}

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = await self._client.request(method, path, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise GatewayError(503, "GATEWAY_UNREACHABLE", f"the gateway did not answer: {exc}") from exc
        if resp.status_code >= 400:
            raise GatewayError.of(resp)
        return resp.json() if resp.content else {}

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET path`` -> the JSON body."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self._send("GET", path, params=clean)

    async def post(self, path: str, body: Any) -> Any:
        """``POST path`` with a JSON body -> the JSON body."""
        return await self._send("POST", path, json=body)

    async def patch(self, path: str, body: Any) -> Any:
        """``PATCH path`` with a JSON body -> the JSON body."""
        return await self._send("PATCH", path, json=body)

    async def upload(
        self, filename: str, data: bytes, content_type: str, form: Mapping[str, str]
    ) -> dict[str, Any]:
        """``POST /v1/documents`` of one file with its metadata -> the stored document."""
        files = {"file": (filename, data, content_type)}
        body: dict[str, Any] = await self._send("POST", "/v1/documents", files=files, data=dict(form))
        return body

    async def login(self, body: Mapping[str, Any]) -> str:
        """The dev-only ``POST /v1/auth/login`` -> the access token."""
        answer = await self._send("POST", "/v1/auth/login", json=dict(body))
        return str(answer["access_token"])

    @asynccontextmanager
    async def stream(self, path: str) -> AsyncIterator[httpx.Response]:
        """A streamed ``GET`` (downloads); the response is open inside the block."""
        request = self._client.build_request("GET", path, headers=self._headers)
        try:
            resp = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise GatewayError(503, "GATEWAY_UNREACHABLE", f"the gateway did not answer: {exc}") from exc
        try:
            if resp.status_code >= 400:
                await resp.aread()
                raise GatewayError.of(resp)
            yield resp
        finally:
            await resp.aclose()
