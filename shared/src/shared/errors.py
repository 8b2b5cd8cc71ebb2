"""The normalized error model: every 4xx/5xx body is ``{"code", "message", "details"}``.

Services raise subclasses of :class:`AppError` named as facts; the HTTP layer turns them into responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class AppError(Exception):
    """Base of every expected failure. ``status`` is the HTTP status the edge answers with."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = dict(details or {})
        if status is not None:
            self.status_override: int | None = status
        else:
            self.status_override = None

    @property
    def http_status(self) -> int:
        return self.status_override or self.status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class BadRequest(AppError):
    status = 400
    default_code = "BAD_REQUEST"


class ValidationFailed(AppError):
    status = 400
    default_code = "VALIDATION_FAILED"


class Unauthorized(AppError):
    status = 401
    default_code = "UNAUTHORIZED"


class Forbidden(AppError):
    status = 403
    default_code = "FORBIDDEN"


class NotFound(AppError):
    status = 404
    default_code = "NOT_FOUND"


class Conflict(AppError):
    status = 409
    default_code = "CONFLICT"


class PayloadTooLarge(AppError):
    status = 413
    default_code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(AppError):
    status = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequests(AppError):
    status = 429
    default_code = "RATE_LIMITED"


class IdempotencyKeyReused(Conflict):
    default_code = "IDEMPOTENCY_KEY_REUSED"


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a normalized error body."""
    return {"code": code, "message": message, "details": dict(details or {})}
