"""Settings of the console (environment ``ZENOPS_*``).

The console is a client of the gateway like any other: it holds no database URL and no service token.
Production is the default; there the session secret and a token source (a JWKS URL, or the HS256 secret)
are required at start-up and the session cookie is ``Secure``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ENVS = frozenset({"dev", "test"})

#: dev logins offered on the sign-in page: label -> roles (domain.md §10.1/§10.2)
DEV_ROLES: dict[str, tuple[str, ...]] = {
    "factory_operator": ("repogen_factory",),
    "ops_manager": ("ops_manager",),
    "valuer": ("valuer",),
    "super_admin": ("super_admin", "repogen_factory"),
}


class MissingConsoleSecrets(ValueError):
    """Start-up refused outside dev: the console cannot run safely without these."""


class Settings(BaseSettings):
    """What the console reads from the environment (the launcher and compose set these)."""

    model_config = SettingsConfigDict(env_prefix="ZENOPS_", extra="ignore")

    env: str = "production"
    service_name: str = "console"
    #: the only backend the console talks to
    gateway_url: str = "http://127.0.0.1:8080"
    gateway_timeout_s: float = Field(default=60.0, gt=0, le=600)
    #: encrypts and signs the session cookie (Fernet key derived from it)
    console_secret: SecretStr = SecretStr("")
    #: sign-in verification of pasted tokens: JWKS (production) and/or the HS256 secret (dev)
    jwks_url: str = ""
    jwt_secret: SecretStr = SecretStr("")
    jwt_audiences: list[str] = Field(default_factory=lambda: ["web", "studio", "portal", "worker", "service"])
    #: ``None``: Secure outside dev (the dev stack serves plain http on 127.0.0.1)
    cookie_secure: bool | None = None
    session_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    #: the tenant and user of dev logins (domain.md §11)
    dev_tenant_id: str = "11111111-1111-1111-1111-111111111111"
    dev_user_id: str = "33333333-3333-3333-3333-333333333333"
    page_size: int = Field(default=20, ge=5, le=100)

    @property
    def is_dev(self) -> bool:
        """Dev login and plain-http cookies only when the environment says so."""
        return self.env in DEV_ENVS

    @property
    def secure_cookies(self) -> bool:
        """Whether the session cookie carries the ``Secure`` flag."""
        return (not self.is_dev) if self.cookie_secure is None else self.cookie_secure

    @model_validator(mode="after")
    def _secrets_outside_dev(self) -> Settings:
        if self.is_dev:
            return self
        missing = []
        if not self.console_secret.get_secret_value():
            missing.append("ZENOPS_CONSOLE_SECRET")
        if not self.jwks_url and not self.jwt_secret.get_secret_value():
            missing.append("ZENOPS_JWKS_URL")
        if missing:
            raise MissingConsoleSecrets(f"missing required settings outside dev: {', '.join(missing)}")
        return self
