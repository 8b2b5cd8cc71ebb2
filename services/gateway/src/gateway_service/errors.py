"""Every failure the gateway answers itself, named as facts (``shared.errors.DomainError`` subclasses).

The edge (``gateway_service.edge``), the rate limiter, the route table and the proxy raise these; the
merged OpenAPI document (``gateway_service.openapi``) documents them from the same classes, so what the
document says the edge answers is what the edge can answer.
"""

from __future__ import annotations

from shared.errors import BadRequest, DomainError, NotFound, PayloadTooLarge, TooManyRequests


class InvalidPath(BadRequest):
    """The request path is not canonical (``gateway_service.edge.check_path``)."""

    code = "INVALID_PATH"


class InvalidContentLength(BadRequest):
    """``Content-Length`` is not one decimal number."""

    code = "INVALID_CONTENT_LENGTH"
    default_message = "Content-Length is not a single decimal number"


class UnforwardableRequest(BadRequest):
    """The request passed the server but cannot be written to the service as HTTP/1.1."""

    code = "UNFORWARDABLE_REQUEST"
    default_message = "the request cannot be forwarded as received"


class BodyTooLarge(PayloadTooLarge):
    """The request body is larger than its route class allows."""

    code = "PAYLOAD_TOO_LARGE"


class UriTooLong(DomainError):
    """The request target is longer than ``max_url_bytes``."""

    status = 414
    code = "URI_TOO_LONG"


class HeadersTooLarge(DomainError):
    """The header fields exceed ``max_header_bytes`` in total or ``max_header_count`` in number."""

    status = 431
    code = "REQUEST_HEADERS_TOO_LARGE"


class RateLimited(TooManyRequests):
    """The client's token bucket is empty (``Retry-After`` says when it holds a token again)."""

    code = "RATE_LIMITED"
    default_message = "rate limit exceeded, retry later"


class ControlRateLimitExceeded(RateLimited):
    """The studio control plane's extra per-IP bucket is empty (domain.md §9.5)."""

    code = "CONTROL_RATE_LIMIT_EXCEEDED"


class RouteNotFound(NotFound):
    """No row of the route table serves the request, or its row is out of scope (decision 34)."""

    code = "ROUTE_NOT_FOUND"


class UpstreamUnavailable(DomainError):
    """The owning service could not be reached (connection refused, reset, protocol error)."""

    status = 503
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(DomainError):
    """The owning service did not answer in time."""

    status = 504
    code = "UPSTREAM_TIMEOUT"


class DevLoginUnavailable(UpstreamUnavailable):
    """Dev login was asked for on a gateway without a JWT secret."""

    code = "DEV_LOGIN_UNAVAILABLE"
    default_message = "dev login needs ZENOPS_JWT_SECRET"
