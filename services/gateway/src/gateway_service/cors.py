"""CORS at the edge (issue 20): browsers on the configured origins may call the gateway directly.

``ZENOPS_CORS_ORIGINS`` (comma separated, e.g. ``https://app.zenops.example,http://localhost:5173``)
names the origins a browser may call the API from; none by default (production), so a browser on any
other origin gets no ``Access-Control-Allow-Origin`` and cannot read an answer. The dev stack sets the
console's origin and the usual local dev servers (``devstack.launcher.cors_origins``).

Starlette's :class:`CORSMiddleware`, outermost in the gateway (so every answer, a refusal of the edge
or a 500 included, carries the headers a browser needs to read it):

* a preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered here,
  before the edge, the route table, authentication or the rate limit: 200 for an allowed origin asking
  for an allowed method and request headers, else 403 ``CORS_PREFLIGHT_REFUSED`` (``details.refused``:
  ``origin``, ``method``, ``headers``) in the normalized error body;
* any other request passes through; an allowed ``Origin`` gets ``Access-Control-Allow-Origin`` (its
  own value, ``Vary: Origin``) and the response headers clients read (:data:`EXPOSED_HEADERS`).

No credentials mode: clients send their token in ``Authorization``; the gateway sets no cookies.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from gateway_service.edge import EDGE_REFUSED
from gateway_service.errors import CorsPreflightRefused
from shared.http import error_response

#: the methods of the route table (``OPTIONS`` itself is only ever a preflight)
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
#: request headers a browser client may send beyond the CORS-safelisted ones; not ``x-service-token``
#: (V1's secret belongs on a server, never in a browser)
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
    "x-zenops-after",
    "traceparent",
    "tracestate",
)
#: response headers a browser client may read beyond the CORS-safelisted ones
EXPOSED_HEADERS = (
    "x-zenops-version",
    "x-zenops-service",
    "x-trace-id",
    "x-request-id",
    "x-next-cursor",
    "retry-after",
    "content-disposition",
    "etag",
)
#: how long a browser may reuse a preflight's answer
MAX_AGE_S = 600


class GatewayCors(CORSMiddleware):
    """Starlette's CORS with the gateway's refusal: a refused preflight answers 403
    ``CORS_PREFLIGHT_REFUSED`` as ``{code, message, details}`` instead of plain text."""

    def __init__(self, app: object, *, origins: Iterable[str]) -> None:
        super().__init__(
            app,  # type: ignore[arg-type]
            allow_origins=tuple(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=False,
            expose_headers=EXPOSED_HEADERS,
            max_age=MAX_AGE_S,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        text = bytes(answer.body).decode("utf-8", "replace")
        refused = [part.strip() for part in text.removeprefix("Disallowed CORS ").split(",") if part.strip()]
        EDGE_REFUSED.labels(CorsPreflightRefused.code).inc()
        error = CorsPreflightRefused(
            f"CORS preflight refused: {', '.join(refused) or 'request'} not allowed",
            details={
                "refused": refused,
                "origin": request_headers.get("origin", "")[:200],
                "method": request_headers.get("access-control-request-method", "")[:20],
            },
        )
        refusal = error_response(error)
        for name, value in answer.headers.items():
            if name.lower().startswith("access-control-") or name.lower() == "vary":
                refusal.headers[name] = value
        return refusal
