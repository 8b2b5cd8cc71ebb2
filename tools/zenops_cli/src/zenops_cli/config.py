"""Where the gateway is and which token to send, without importing the dev tooling.

In order: the ``--gateway``/``--token`` options, then ``ZENOPS_GATEWAY_URL``/``ZENOPS_TOKEN``, then what
``python -m devstack env`` exports for the local stack (``ZENOPS_GATEWAY_URL``,
``ZENOPS_STUDIO_ADMIN_TOKEN``), then the files ``make up`` keeps in its state dir (``$ZENOPS_STATE_DIR``
or ``./.zenops``: ``ports.json`` for the gateway's port, ``secrets.json`` for the studio admin token).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_GATEWAY = "http://127.0.0.1:8080"
DEFAULT_ZIPKIN = "http://127.0.0.1:9411"


@dataclass(frozen=True)
class Target:
    """The gateway, the token and Zipkin the commands talk to."""

    gateway: str
    token: str | None
    zipkin: str


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def state_dir(env: Mapping[str, str]) -> Path:
    """The local stack's state dir: ``$ZENOPS_STATE_DIR`` or ``./.zenops``."""
    return Path(env.get("ZENOPS_STATE_DIR") or ".zenops")


def resolve(
    gateway: str | None, token: str | None, zipkin: str | None, env: Mapping[str, str] | None = None
) -> Target:
    """The target from the options, the environment and the local stack's state dir (see the module)."""
    env = os.environ if env is None else env
    state = state_dir(env)
    found_gateway = gateway or env.get("ZENOPS_GATEWAY_URL")
    if not found_gateway:
        port = _read_json(state / "ports.json").get("gateway")
        found_gateway = f"http://127.0.0.1:{port}" if isinstance(port, int) else DEFAULT_GATEWAY
    found_token = token or env.get("ZENOPS_TOKEN") or env.get("ZENOPS_STUDIO_ADMIN_TOKEN")
    if not found_token:
        secret = _read_json(state / "secrets.json").get("studio_admin_token")
        found_token = secret if isinstance(secret, str) and secret else None
    found_zipkin = zipkin or env.get("ZENOPS_ZIPKIN_URL") or DEFAULT_ZIPKIN
    return Target(found_gateway.rstrip("/"), found_token, found_zipkin.rstrip("/"))
