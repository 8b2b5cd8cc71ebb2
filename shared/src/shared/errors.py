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

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a stable SCREAMING_SNAKE ``code``, a human ``message`` and ``details``."""

    model_config = ConfigDict(title="ErrorBody")

    code: str = Field(description="Stable SCREAMING_SNAKE failure code", examples=["WORK_ORDER_NOT_FOUND"])
    message: str = Field(description="Human-readable message (not for parsing)")
    details: dict[str, Any] = Field(description="Structured context of the failure")


class DomainError(Exception):
    """Base of every expected failure: ``code``, ``status``, ``message`` and ``details``.

    ``code`` and ``status`` are class facts; an instance may narrow them (``code=``/``status=``) for a
    one-off failure that does not deserve a class of its own. ``message`` defaults to
    ``default_message`` and then to the code.
    """

    code: str = "BAD_REQUEST"
    status: int = 400
    default_message: str | None = None

    def __init_subclass__(
        cls, *, code: str | None = None, status: int | None = None, message: str | None = None, **kwargs: Any
    ) -> None:
        """Fix the facts on the class line: ``class WorkOrderLocked(EvidenceError, code="WORK_ORDER_LOCKED",
        status=409)`` (one declaration per failure, read at a glance)."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status
        if message is not None:
            cls.default_message = message

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


class BadRequest(DomainError, code="BAD_REQUEST", status=400):
    """The request is malformed or lacks context it needs."""


class ValidationFailed(DomainError, code="VALIDATION_FAILED", status=400):
    """A field of the request breaks its constraints."""


class Unauthorized(DomainError, code="UNAUTHORIZED", status=401):
    """No valid identity comes with the request."""


class Forbidden(DomainError, code="FORBIDDEN", status=403):
    """The identity may not do this."""


class NotFound(DomainError, code="NOT_FOUND", status=404):
    """No visible resource has this id."""


class Conflict(DomainError, code="CONFLICT", status=409):
    """The request contradicts the resource's state."""


class PayloadTooLarge(DomainError, code="PAYLOAD_TOO_LARGE", status=413):
    """The body is over the limit."""


class UnsupportedMediaType(DomainError, code="UNSUPPORTED_MEDIA_TYPE", status=415):
    """The body's type is not accepted."""


class TooManyRequests(DomainError, code="RATE_LIMITED", status=429):
    """The caller is over its rate limit; ``details.retry_after_s`` says when to return."""


class IdempotencyKeyReused(Conflict, code="IDEMPOTENCY_KEY_REUSED"):
    """The ``Idempotency-Key`` was used with other parameters."""


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a normalized error body."""
    return {"code": code, "message": message, "details": dict(details or {})}
