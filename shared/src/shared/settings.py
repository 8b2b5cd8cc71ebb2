"""Settings base shared by every service.

Every value comes from the environment (prefix ``ZENOPS_``). The environment defaults to
``production``: only the launcher (``ZENOPS_ENV=dev``, with secrets it generates into its state dir) or a
test (``test``) turns on dev behaviour, so a deploy that forgets ``ZENOPS_ENV`` gets the strict one.
Outside ``dev``/``test`` a missing secret is a start-up error naming every missing variable.

Secrets (and the database URLs, which carry passwords) are :class:`pydantic.SecretStr`: they print as
``**********`` in reprs, logs and dumps, and are read with ``.get_secret_value()`` only where they are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ENVS = frozenset({"dev", "test"})
PRODUCTION = "production"


class MissingSecrets(ValueError):
    """Start-up refused: secrets without which a non-dev process must not run."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        variables = ", ".join(f"ZENOPS_{n.upper()}" for n in names)
        super().__init__(f"missing required secrets outside dev: {variables}")


class ServiceSettings(BaseSettings):
    """Settings every service process reads (the launcher exports these variables)."""

    model_config = SettingsConfigDict(env_prefix="ZENOPS_", extra="ignore")

    env: str = PRODUCTION
    service_name: str = "unknown"
    state_dir: Path = Path(".zenops")

    #: ``combined`` (default): ``serve`` runs the HTTP app and the stream app in one process and one event
    #: loop; ``split``: ``serve`` is the HTTP app only and ``stream`` runs the stream app apart (to scale
    #: them apart: issue 18 item 3, ``shared.serve``)
    process_mode: Literal["combined", "split"] = "combined"

    kafka_bootstrap: str = "127.0.0.1:9092"
    db_owner_url: SecretStr = SecretStr("")
    db_app_url: SecretStr = SecretStr("")
    db_system_url: SecretStr = SecretStr("")
    db_pool_size: int = 10

    blob_dir: Path = Path(".zenops/blobs")
    #: processes of this service's CPU pool (DOCX rendering, OCR: :mod:`shared.cpu`), created on first
    #: use; 0 runs that work in a worker thread of the event loop's process instead
    cpu_pool_workers: int = Field(default=1, ge=0, le=16)

    jwt_secret: SecretStr = SecretStr("")
    jwt_audiences: list[str] = Field(default_factory=lambda: ["web", "studio", "portal", "worker", "service"])
    jwks_url: str = ""
    service_token: SecretStr = SecretStr("")
    studio_admin_token: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")

    #: where spans go: an OTLP/HTTP traces URL (a collector) and/or Zipkin's ``/api/v2/spans`` (the dev
    #: stack's embedded Zipkin, set by the launcher); neither: spans are made but not exported
    otel_exporter_endpoint: str = ""
    zipkin_endpoint: str = ""
    log_level: str = "INFO"

    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0
    consumer_max_attempts: int = 5
    consumer_backoff_base_s: float = 0.05
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_interval_ms: int = 1_000
    #: published outbox rows and inbox rows are kept this long: the window a work order's story covers
    messaging_retention_days: int = Field(default=30, ge=1, le=3650)
    #: ``Retry-After`` (s) of a 503: the database or the broker away (``SERVICE_UNAVAILABLE``), or a
    #: projection not yet caught up with the aggregate asked for (``NOT_YET_CONSISTENT``)
    retry_after_s: int = Field(default=2, ge=1, le=300)
    #: the consumer-catch-up question of a projected "not found" (shared.catchup): bound and reuse
    catchup_timeout_s: float = Field(default=1.0, gt=0.0, le=30.0)
    catchup_cache_s: float = Field(default=1.0, ge=0.0, le=60.0)
    wait_default_ms: int = 5_000
    wait_max_ms: int = 30_000

    #: how often the stream process records that it is alive, and when ``/readyz`` calls it stale
    stream_heartbeat_interval_s: float = 3.0
    stream_stale_after_s: float = 15.0
    #: ``/readyz``: the bound of each dependency probe, and how long a broker answer is reused
    ready_timeout_s: float = 2.0
    ready_broker_cache_s: float = 5.0
    #: ``/metrics``: how long the ops figures read from the database and the broker are reused
    metrics_cache_s: float = Field(default=2.0, ge=0.0, le=300.0)

    @property
    def is_dev(self) -> bool:
        """Dev behaviour (dev login, role-less fallbacks) only when the environment says so."""
        return self.env in DEV_ENVS

    def missing_secrets(self) -> list[str]:
        """The secrets a non-dev process needs and does not have: a JWT key source (the HS256 secret
        or a JWKS URL) and the V1 service token."""
        missing = []
        if not self.jwt_secret.get_secret_value() and not self.jwks_url:
            missing.append("jwt_secret")
        if not self.service_token.get_secret_value():
            missing.append("service_token")
        return missing

    @model_validator(mode="after")
    def _secrets_required_outside_dev(self) -> ServiceSettings:
        if not self.is_dev:
            missing = self.missing_secrets()
            if missing:
                raise MissingSecrets(missing)
        return self
