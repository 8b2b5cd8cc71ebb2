"""Request-scoped context variables (request id, actor) shared by logging and messaging."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("zenops_request_id", default=None)


def current_request_id() -> str | None:
    """The request id of the HTTP request or message being handled, if any."""
    return request_id_var.get()
