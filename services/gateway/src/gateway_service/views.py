"""Wire shapes of the routes the gateway answers itself (``gateway_service.api``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

_Short = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
_Name = Annotated[str, StringConstraints(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]


class LoginRequest(BaseModel):
    """The original's dev login body (architecture §10)."""

    model_config = ConfigDict(extra="ignore")

    aud: Literal["web", "studio", "portal", "worker", "service"] = "web"
    tenant_id: _Short | None = None
    user_id: _Short | None = None
    sub: _Short | None = None
    roles: list[_Name] = Field(default_factory=list, max_length=32)
    capabilities: list[_Name] = Field(default_factory=list, max_length=128)

    @field_validator("tenant_id", "user_id")
    @classmethod
    def _uuid_or_empty(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError("must be a uuid") from None


class LoginResponse(BaseModel):
    """A dev token (HS256, signed with the stack's secret)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires")


class MetaView(BaseModel):
    """Build identity of the running platform (architecture §10)."""

    app: str
    service: str
    env: str
    git_sha: str
    build_time: str
    repo_root: str | None = Field(description="Always null: the original exposed a path here")
    api_version: str
    upstreams: list[str]
