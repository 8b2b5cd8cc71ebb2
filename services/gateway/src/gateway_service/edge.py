"""What the edge refuses before any route is matched (issue 12): the request's shape, not its meaning.

* **URL and headers**: a request target longer than ``max_url_bytes`` → 414 ``URI_TOO_LONG``; header
  fields beyond ``max_header_bytes`` in total or ``max_header_count`` → 431
  ``REQUEST_HEADERS_TOO_LARGE``. (The server's own outer bounds, with the same codes, are in
  ``shared.uvicorn_protocol``.)
* **Path**: only a canonical path is routed, so the row that is authorised and rate-limited is the row
  whose service answers, and the upstream receives exactly the bytes that were matched. Refused with 400
  ``INVALID_PATH`` (never normalised): characters outside RFC 3986 ``pchar`` and ``/`` (raw spaces,
  backslashes, non-ASCII bytes: clients percent-encode), empty segments (``//``), dot segments (``.``,
  ``..``) whether written plainly or percent-encoded, percent-encoded separators and delimiters
  (``%2F``, ``%5C``, ``%3F``, ``%23``), encoded control characters (``%00``..``%1F``, ``%7F``), malformed
  escapes and escapes that are not UTF-8.
* **Body size per route class**: ``upload`` rows (``POST /v1/documents``) accept
  ``max_upload_body_bytes``, every other route ``max_json_body_bytes``; a larger declared
  ``Content-Length`` → 413 ``PAYLOAD_TOO_LARGE`` before anything is forwarded, and a chunked body is
  counted as it streams (413 as soon as it passes the limit). Up to ``DRAIN_MAX_BYTES`` beyond the limit
  are read and discarded before answering, so a client that sends its whole body before reading (and
  closes after) receives the 413 instead of a connection reset; a larger excess is answered at once.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException
from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway_service.errors import (
    BodyTooLarge,
    HeadersTooLarge,
    InvalidContentLength,
    InvalidPath,
    UriTooLong,
)
from gateway_service.routes import UPLOAD, RouteTable
from gateway_service.settings import Settings
from shared.errors import DomainError
from shared.http import error_response

EDGE_REFUSED = Counter(
    "zenops_gateway_refused_total", "Requests refused by the edge before routing", ["reason"]
)

# RFC 3986 pchar (unreserved, sub-delims, ':' '@', pct-encoded) and '/'
_RAW_PATH = re.compile(rb"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_FORBIDDEN_DECODED = frozenset(b"/\\?#\x7f") | frozenset(range(0x20))
#: bytes past a body limit the edge still reads (and drops) so the client gets to see its 413
DRAIN_MAX_BYTES = 8 * 1024 * 1024


def _invalid_path(raw: bytes, reason: str) -> InvalidPath:
    return InvalidPath(
        f"request path is not canonical: {reason}",
        details={"reason": reason, "path": raw[:200].decode("latin-1")},
    )


def check_path(raw: bytes) -> None:
    """Raise 400 ``INVALID_PATH`` unless ``raw`` (the request target's path, as received) is canonical."""
    if not _RAW_PATH.fullmatch(raw):
        raise _invalid_path(raw, "characters outside RFC 3986 path characters must be percent-encoded")
    if b"//" in raw:
        raise _invalid_path(raw, "empty path segment")
    if _BAD_ESCAPE.search(raw):
        raise _invalid_path(raw, "malformed percent-encoding")
    for segment in raw.split(b"/")[1:]:
        decoded = unquote_to_bytes(segment) if b"%" in segment else segment
        if decoded in (b".", b".."):
            raise _invalid_path(raw, "dot segment")
        if b"%" in segment:
            if any(byte in _FORBIDDEN_DECODED for byte in decoded):
                raise _invalid_path(raw, "percent-encoded separator or control character")
            try:
                decoded.decode("utf-8")
            except UnicodeDecodeError:
                raise _invalid_path(raw, "percent-encoding is not UTF-8") from None


def declared_length(headers: Headers) -> int | None:
    """The ``Content-Length`` as an int; 400 ``INVALID_CONTENT_LENGTH`` when it is not one number."""
    values = headers.getlist("content-length")
    if not values:
        return None
    if len(set(values)) != 1 or not values[0].isascii() or not values[0].isdigit() or len(values[0]) > 18:
        raise InvalidContentLength()
    return int(values[0])


def _too_large(limit: int, body_class: str) -> BodyTooLarge:
    return BodyTooLarge(
        f"request body exceeds the limit of {limit} bytes for {body_class} routes",
        details={"max_bytes": limit, "body_class": body_class},
    )


class BodyLimitExceeded(HTTPException):
    """A streamed body passed its limit. An ``HTTPException`` because FastAPI turns any other error
    raised while it reads a body into a generic 400; it carries the 413 :class:`DomainError` that the
    shared handler answers (``shared.http``)."""

    def __init__(self, error: BodyTooLarge) -> None:
        super().__init__(status_code=error.status, detail=error.message)
        self.app_error = error


class EdgeGuard:
    """Pure ASGI middleware (inside the request-context middleware, so refusals carry a request id)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, table: RouteTable) -> None:
        self.app = app
        self.settings = settings
        self.table = table

    def body_limit(self, method: str, path: str) -> tuple[int, str]:
        route = self.table.resolve(method, path)
        if route is not None and route.body_class == UPLOAD:
            return self.settings.max_upload_body_bytes, UPLOAD
        return self.settings.max_json_body_bytes, "json"

    def admit(self, scope: Scope, headers: Headers) -> tuple[int, str]:
        """Refuse a malformed or oversized request head; the body limit of its route otherwise."""
        settings = self.settings
        raw_path: bytes = scope.get("raw_path") or str(scope["path"]).encode()
        query: bytes = scope.get("query_string") or b""
        if len(raw_path) + len(query) > settings.max_url_bytes:
            raise UriTooLong(
                f"request URL is longer than {settings.max_url_bytes} bytes",
                details={"max_url_bytes": settings.max_url_bytes},
            )
        raw_headers = scope.get("headers") or []
        size = sum(len(k) + len(v) for k, v in raw_headers)
        if size > settings.max_header_bytes or len(raw_headers) > settings.max_header_count:
            raise HeadersTooLarge(
                "request headers are too large",
                details={
                    "max_header_bytes": settings.max_header_bytes,
                    "max_header_count": settings.max_header_count,
                },
            )
        check_path(raw_path)
        limit, body_class = self.body_limit(str(scope["method"]), str(scope["path"]))
        length = declared_length(headers)
        if length is not None and length > limit:
            raise _too_large(limit, body_class)
        return limit, body_class

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            limit, body_class = self.admit(scope, headers)
        except DomainError as exc:
            EDGE_REFUSED.labels(exc.code).inc()
            if isinstance(exc, BodyTooLarge):
                length = declared_length(headers) or 0
                if length - exc.details["max_bytes"] <= DRAIN_MAX_BYTES:
                    await _drain(receive, length + 1)
            await error_response(exc)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    EDGE_REFUSED.labels("PAYLOAD_TOO_LARGE").inc()
                    if message.get("more_body", False):
                        await _drain(receive, DRAIN_MAX_BYTES)
                    raise BodyLimitExceeded(_too_large(limit, body_class))
            return message

        await self.app(scope, counted, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of a refused body, at most ``budget`` bytes."""
    dropped = 0
    while dropped <= budget:
        message = await receive()
        if message["type"] != "http.request":
            return
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
