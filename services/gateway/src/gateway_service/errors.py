"""Every failure the gateway answers itself, named as facts (``shared.errors.DomainError`` subclasses).

The edge (``gateway_service.edge``), the rate limiter, the route table and the proxy raise these; the
merged OpenAPI document (``gateway_service.openapi``) documents them from the same classes, so what the
document says the edge answers is what the edge can answer.
"""

from __future__ import annotations

from shared.errors import BadRequest, DomainError, NotFound, PayloadTooLarge, TooManyRequests


class InvalidPath(BadRequest, code="INVALID_PATH"):
    """The request path is not canonical (``gateway_service.edge.check_path``)."""


class InvalidContentLength(
    BadRequest, code="INVALID_CONTENT_LENGTH", message="Content-Length is not a single decimal number"
):
    """``Content-Length`` is not one decimal number."""


class UnforwardableRequest(
    BadRequest, code="UNFORWARDABLE_REQUEST", message="the request cannot be forwarded as received"
):
    """The request passed the server but cannot be written to the service as HTTP/1.1."""


class BodyTooLarge(PayloadTooLarge, code="PAYLOAD_TOO_LARGE"):
    """The request body is larger than its route class allows."""


class UriTooLong(DomainError, code="URI_TOO_LONG", status=414):
    """The request target is longer than ``max_url_bytes``."""


class HeadersTooLarge(DomainError, code="REQUEST_HEADERS_TOO_LARGE", status=431):
    """The header fields exceed ``max_header_bytes`` in total or ``max_header_count`` in number."""


class RateLimited(TooManyRequests, code="RATE_LIMITED", message="rate limit exceeded, retry later"):
    """The client's token bucket is empty (``Retry-After`` says when it holds a token again)."""


class ControlRateLimitExceeded(RateLimited, code="CONTROL_RATE_LIMIT_EXCEEDED"):
    """The studio control plane's extra per-IP bucket is empty (domain.md §9.5)."""


class RouteNotFound(NotFound, code="ROUTE_NOT_FOUND"):
    """No row of the route table serves the request, or its row is out of scope (decision 34)."""


class UpstreamUnavailable(DomainError, code="UPSTREAM_UNAVAILABLE", status=503):
    """The owning service could not be reached (connection refused, reset, protocol error)."""


class UpstreamTimeout(DomainError, code="UPSTREAM_TIMEOUT", status=504):
    """The owning service did not answer in time."""


class DevLoginUnavailable(
    UpstreamUnavailable, code="DEV_LOGIN_UNAVAILABLE", message="dev login needs ZENOPS_JWT_SECRET"
):
    """Dev login was asked for on a gateway without a JWT secret."""


class CorsPreflightRefused(DomainError, code="CORS_PREFLIGHT_REFUSED", status=403):
    """A browser's preflight from an origin, for a method or with request headers the gateway does not
    allow (``gateway_service.cors``: ``ZENOPS_CORS_ORIGINS``)."""
