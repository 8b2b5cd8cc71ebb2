"""pytest fixtures that start the real stack (embedded Postgres + Kafka + services) once per session.

Tests that need the broker or the database use these fixtures; when the stack cannot start, the
fixture raises and the tests FAIL (they never skip). ``ZENOPS_STATE_DIR`` chooses the state dir
(default ``<repo>/.zenops-test``, apart from a developer's ``make up`` stack); ``ZENOPS_KEEP_STACK=1``
leaves it running after the session for faster iteration.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo, repo_root, start_stack, stop_stack
from devstack.testing.data import OTHER_TENANT, TEST_TENANT, TEST_USER
from shared.auth.tokens import issue_dev_token
from shared.messaging.kafka import make_producer

__all__ = ["OTHER_TENANT", "TEST_TENANT", "TEST_USER", "make_token", "service_env"]


def _state_dir() -> Path:
    env = os.environ.get("ZENOPS_STATE_DIR")
    return Path(env) if env else repo_root() / ".zenops-test"


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    """The whole system, started by the project's own launcher."""
    state_dir = _state_dir()
    try:
        info = start_stack(state_dir, services=True)
    except BaseException:
        # A half-started stack must not outlive the session (CI runs on a clean machine each time).
        if os.environ.get("ZENOPS_KEEP_STACK") != "1":
            stop_stack(state_dir)
        raise
    try:
        yield info
    finally:
        if os.environ.get("ZENOPS_KEEP_STACK") != "1":
            stop_stack(state_dir)


def make_token(
    info: StackInfo,
    *,
    tenant_id: str | None = TEST_TENANT,
    user_id: str | None = TEST_USER,
    aud: str = "web",
    roles: tuple[str, ...] = ("super_admin", "repogen_factory"),
    capabilities: tuple[str, ...] = ("*",),
) -> str:
    """A dev HS256 token signed with the stack's secret."""
    return issue_dev_token(
        info.secrets.jwt_secret,
        sub=user_id or "test",
        aud=aud,
        tenant_id=tenant_id,
        user_id=user_id,
        roles=roles,
        capabilities=capabilities,
    )


@pytest.fixture
async def gateway(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway, authenticated as an operator of the test tenant."""
    headers = {"authorization": f"Bearer {make_token(stack)}", "x-request-id": str(uuid.uuid4())}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
async def other_tenant(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway, authenticated as an operator of the other tenant."""
    headers = {"authorization": f"Bearer {make_token(stack, tenant_id=OTHER_TENANT)}"}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
async def studio(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway with the studio admin bearer (the control routes)."""
    headers = {"authorization": f"Bearer {stack.secrets.studio_admin_token}"}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
async def admin_db(stack: StackInfo) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection to the stack's database, for assertions on any schema."""
    conn = await asyncpg.connect(stack.admin_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def producer(stack: StackInfo) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer on the stack's broker, standing in for other services' relays: hand it to
    :func:`devstack.testing.messaging.publish` to send many messages on one connection."""
    async with make_producer(stack.kafka_bootstrap, client_id=f"tests-{uuid.uuid4().hex[:6]}") as started:
        yield started


def service_env(info: StackInfo, service: str) -> dict[str, Any]:
    """Environment of one service (to run its code in-process or as a subprocess in tests)."""
    return info.env(service)
