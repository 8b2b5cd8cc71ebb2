"""The one error base of every service: :class:`DomainError` and the normalized body
``{"code", "message", "details"}`` every 4xx/5xx carries.

A service names each expected failure as a fact by subclassing :class:`DomainError` (or one of the
status families below) and fixing ``code`` (SCREAMING_SNAKE), ``status`` (the HTTP status the edge
answers with) and, where the original API had one, ``default_message``. The HTTP layer
(:mod:`shared.http`) renders every :class:`DomainError` the same way and the OpenAPI helpers
(:mod:`shared.api`) document them from the same classes, so there are no per-service status maps
or exception handlers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every expected failure: ``code``, ``status``, ``message`` and ``details``.

    ``code`` and ``status`` are class facts; an instance may narrow them (``code=``/``status=``) for a
    one-off failure that does not deserve a class of its own. ``message`` defaults to
    ``default_message`` and then to the code.
    """

    code: str = "BAD_REQUEST"
    status: int = 400
    default_message: str | None = None

    def __init__(
        self,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.message = message or self.default_message or self.code
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The normalized body ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class BadRequest(DomainError):
    status = 400
    code = "BAD_REQUEST"


class ValidationFailed(DomainError):
    status = 400
    code = "VALIDATION_FAILED"


class Unauthorized(DomainError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequests(DomainError):
    status = 429
    code = "RATE_LIMITED"


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a normalized error body."""
    return {"code": code, "message": message, "details": dict(details or {})}
