"""Settings base shared by every service.

Every value comes from the environment (prefix ``ZENOPS_``) with safe *local* defaults. Secrets have no
production defaults: in any environment other than ``dev``/``test`` a missing secret is a start-up error.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEV_ENVS = frozenset({"dev", "test"})


class ServiceSettings(BaseSettings):
    """Settings every service process reads (the launcher exports these variables)."""

    model_config = SettingsConfigDict(env_prefix="ZENOPS_", extra="ignore")

    env: str = "dev"
    service_name: str = "unknown"
    state_dir: Path = Path(".zenops")

    kafka_bootstrap: str = "127.0.0.1:9092"
    db_owner_url: str = ""
    db_app_url: str = ""
    db_system_url: str = ""
    db_pool_size: int = 10

    blob_dir: Path = Path(".zenops/blobs")

    jwt_secret: str = ""
    jwt_audiences: list[str] = Field(default_factory=lambda: ["web", "studio", "portal", "worker", "service"])
    jwks_url: str = ""
    service_token: str = ""
    studio_admin_token: str = ""
    webhook_secret: str = ""

    otel_exporter_endpoint: str = ""
    log_level: str = "INFO"

    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0
    consumer_max_attempts: int = 5
    consumer_backoff_base_s: float = 0.05
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_interval_ms: int = 1_000
    wait_default_ms: int = 5_000
    wait_max_ms: int = 30_000

    @property
    def is_dev(self) -> bool:
        return self.env in _DEV_ENVS

    @model_validator(mode="after")
    def _secrets_required_outside_dev(self) -> ServiceSettings:
        if not self.is_dev:
            missing = [n for n in ("jwt_secret", "service_token") if not getattr(self, n)]
            if missing and not (self.jwks_url and "jwt_secret" in missing and len(missing) == 1):
                raise ValueError(f"missing required secrets outside dev: {', '.join(missing)}")
        return self
