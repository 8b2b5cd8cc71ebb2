"""The HTTP side of ``zenops``: the gateway's ops routes and Zipkin's API, over one ``httpx`` client each.

Every failure becomes a :class:`CliError` with one line to print: the gateway's ``{code, message}`` for
an HTTP error, the reason for a network error.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

#: the services behind the gateway that serve ops routes
SERVICES = ("workorders", "evidence", "factory", "billing")


class CliError(Exception):
    """A failure to report on one line; ``code`` is the exit status (1: the call failed, 2: usage)."""

    def __init__(self, message: str, code: int = 1, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _failure(resp: httpx.Response) -> CliError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        text = f"{resp.status_code} {body.get('code')}: {body.get('message', '')}"
    else:
        text = f"{resp.status_code}: {resp.text[:200]}"
    return CliError(f"{resp.request.method} {resp.request.url.path} -> {text}", status=resp.status_code)


class Gateway:
    """The ops routes through the gateway."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of ``method path`` (a :class:`CliError` for anything but a 2xx)."""
        try:
            resp = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the gateway at {self.client.base_url}: {exc}") from exc
        if resp.status_code >= 300:
            raise _failure(resp)
        return resp.json() if resp.content else {}

    def dead_letters(self, service: str, *, kind: str | None, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if kind:
            params["kind"] = kind
        result: dict[str, Any] = self.call("GET", f"/v1/ops/{service}/dead-letters", params=params)
        return result

    def dead_letter(self, service: str, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/v1/ops/{service}/dead-letters/{message_id}")
        return result

    def handle(self, service: str, message_id: str, action: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/v1/ops/{service}/dead-letters/{message_id}/{action}")
        return result

    def story(self, service: str, work_order: str, limit: int) -> dict[str, Any] | None:
        """The service's part of the story, ``None`` when it holds nothing about the work order (404)."""
        try:
            result: dict[str, Any] = self.call(
                "GET", f"/v1/ops/{service}/work-orders/{work_order}/story", params={"limit": limit}
            )
        except CliError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    def gate_replay(self, work_order: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/v1/ops/billing/work-orders/{work_order}/gate-replay")
        return result

    def sweep(self, body: dict[str, Any]) -> dict[str, Any]:
        """The billing reconcile sweep: the studio control route, else (a 401: the token is the service
        token, not a studio one) the service-token route. A 401 changed nothing, so asking again is safe."""
        try:
            result: dict[str, Any] = self.call("POST", "/v1/control/credits/reconcile", json=body)
        except CliError as exc:
            if exc.status != 401:
                raise
            result = self.call("POST", "/v1/billing/credits/reconcile", json=body)
        return result


class Zipkin:
    """Zipkin's v2 API."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def traces_of_request(
        self, request_id: str, *, lookback_hours: int, limit: int = 10
    ) -> list[list[dict[str, Any]]]:
        """The traces with a span tagged ``zenops.request_id=<request_id>``."""
        params: dict[str, Any] = {
            "annotationQuery": f"zenops.request_id={request_id}",
            "endTs": int(time.time() * 1000),
            "lookback": lookback_hours * 3_600_000,
            "limit": limit,
        }
        try:
            resp = self.client.get("/api/v2/traces", params=params)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach Zipkin at {self.client.base_url}: {exc}") from exc
        if resp.status_code != 200:
            raise CliError(f"Zipkin answered {resp.status_code}: {resp.text[:200]}", status=resp.status_code)
        traces = resp.json()
        if not isinstance(traces, list):
            raise CliError("Zipkin answered something that is not a list of traces")
        return [t for t in traces if isinstance(t, list)]
