"""uvicorn's HTTP/1.1 protocol (httptools) with JSON protocol errors and bounded request heads.

uvicorn answers a request it cannot parse itself, before any application code runs, with a plain-text
``400 Invalid HTTP request received.`` — e.g. a URL beyond httptools' 64 KiB ``parse_url`` limit. Every
process of the stack runs with ``--http shared.uvicorn_protocol:JsonErrorsHttpToolsProtocol`` (see
``devstack.catalog``) so those answers have the ``{code, message, details}`` shape too:

* a URL longer than ``MAX_URL_BYTES`` → 414 ``URI_TOO_LONG`` (refused while it is still arriving);
* request headers beyond ``MAX_HEADER_BYTES`` in total or ``MAX_HEADER_COUNT`` fields → 431
  ``REQUEST_HEADERS_TOO_LARGE`` (httptools itself has no such bound);
* anything else the parser rejects → 400 ``INVALID_HTTP_REQUEST``.

These are the outer bounds of the server; the gateway refuses much smaller URLs and header sets with
the same codes from its own middleware (``gateway_service.edge``), with a request id.
"""

from __future__ import annotations

import json
import uuid

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: the longest request target accepted at all (httptools' own ``parse_url`` fails at 64 KiB)
MAX_URL_BYTES = 64 * 1024 - 1
#: request header bytes (names + values) accepted at all
MAX_HEADER_BYTES = 256 * 1024
#: request header fields accepted at all
MAX_HEADER_COUNT = 512

_REASONS = {
    414: ("URI_TOO_LONG", "request URL is too long"),
    431: ("REQUEST_HEADERS_TOO_LARGE", "request headers are too large"),
}


class _HeadRefused(Exception):
    """Raised from a parser callback; httptools turns it into an ``HttpParserCallbackError``."""


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose own error answers are JSON and whose request heads are bounded."""

    _refusal: int | None = None
    _head_bytes = 0
    _head_count = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refusal = None
        self._head_bytes = 0
        self._head_count = 0

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._refusal = 414
            raise _HeadRefused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        self._head_count += 1
        if self._head_bytes > MAX_HEADER_BYTES or self._head_count > MAX_HEADER_COUNT:
            self._refusal = 431
            raise _HeadRefused
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        status = self._refusal or 400
        code, message = _REASONS.get(status, ("INVALID_HTTP_REQUEST", msg.rstrip(".")))
        request_id = str(uuid.uuid4())
        details: dict[str, object] = {"request_id": request_id}
        if status == 414:
            details["max_url_bytes"] = MAX_URL_BYTES
        elif status == 431:
            details.update(max_header_bytes=MAX_HEADER_BYTES, max_header_count=MAX_HEADER_COUNT)
        body = json.dumps({"code": code, "message": message, "details": details}).encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-request-id: " + request_id.encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
