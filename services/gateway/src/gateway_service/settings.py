"""Settings of the gateway (environment ``ZENOPS_*``, see ``shared.settings``)."""

import re
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import field_validator
from pydantic_settings import NoDecode

from shared.settings import ServiceSettings

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


def parse_origins(value: str | Iterable[str]) -> list[str]:
    """The origins of ``ZENOPS_CORS_ORIGINS``: comma separated, each ``scheme://host[:port]`` (lower-cased,
    a trailing ``/`` dropped) or ``*`` (any origin); blank entries ignored. Raises ``ValueError`` naming a malformed
    one, so a typo stops the gateway at start instead of silently refusing every browser."""
    entries = value.split(",") if isinstance(value, str) else list(value)
    origins: list[str] = []
    for raw in entries:
        origin = raw.strip().rstrip("/").lower()  # scheme, host and port are case-insensitive
        if not origin:
            continue
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError(f"CORS origin {raw.strip()!r} is not scheme://host[:port] (no path) or '*'")
        if origin not in origins:
            origins.append(origin)
    return origins


class Settings(ServiceSettings):
    """Upstream URLs come from ``ZENOPS_UPSTREAM_<NAME>_URL`` (the launcher sets them)."""

    service_name: str = "gateway"
    upstream_workorders_url: str = "http://127.0.0.1:8081"
    upstream_evidence_url: str = "http://127.0.0.1:8082"
    upstream_factory_url: str = "http://127.0.0.1:8083"
    upstream_billing_url: str = "http://127.0.0.1:8084"
    upstream_timeout_s: float = 60.0
    upstream_connect_timeout_s: float = 5.0
    git_sha: str = "unknown"
    build_time: str = "unknown"

    #: per client (JWT subject + tenant, else the service token, else the client IP), per minute
    rate_limit_per_minute: int = 600
    rate_limit_burst: int | None = None
    #: the studio control plane's extra per-IP limit (domain.md §9.5 ``CONTROL_RATE_LIMIT_RPM``)
    control_rate_limit_per_minute: int = 180
    #: use the first ``X-Forwarded-For`` address as the client IP (only behind a trusted proxy)
    trust_forwarded_for: bool = False

    #: read-your-writes token memory (architecture §4)
    consistency_tokens_per_client: int = 64
    consistency_max_clients: int = 10_000
    consistency_token_ttl_s: float = 300.0

    openapi_cache_ttl_s: float = 60.0
    health_timeout_s: float = 2.0
    #: ``Retry-After`` of a 503/504 when an upstream is down or slow
    upstream_retry_after_s: int = 5

    #: edge limits (``gateway_service.edge``, decisions.md "Hardening (issue 12): gateway")
    max_json_body_bytes: int = 1024 * 1024
    #: ``POST /v1/documents``: evidence's 25 MiB upload limit plus multipart framing and form fields
    max_upload_body_bytes: int = 26 * 1024 * 1024
    max_url_bytes: int = 8 * 1024
    max_header_bytes: int = 32 * 1024
    max_header_count: int = 100

    #: origins a browser may call the gateway from (``ZENOPS_CORS_ORIGINS``, comma separated; none by
    #: default: production answers no cross-origin browser; the dev stack sets its own, see
    #: ``gateway_service.cors``)
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str | list | tuple):
            return parse_origins(value)
        raise ValueError("cors_origins: a comma-separated list of origins")

    def upstream_url(self, service: str) -> str:
        """The base URL of an upstream service (no trailing slash)."""
        url: str = getattr(self, f"upstream_{service}_url")
        return url.rstrip("/")
