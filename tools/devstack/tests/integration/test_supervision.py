"""Supervision on the running stack: a SIGKILLed process comes back by itself; ``restart`` and ``env``."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from devstack.__main__ import main
from devstack.launcher import ComponentStatus, StackInfo, restart_service, stack_status
from devstack.supervisor import ProcState

pytestmark = pytest.mark.stack


def _rows(info: StackInfo) -> dict[str, ComponentStatus]:
    return {row.name: row for row in stack_status(info.state_dir)}


def _back_up(info: StackInfo, name: str, old_pid: int | None, within: float) -> ComponentStatus:
    deadline = time.monotonic() + within
    while True:
        row = _rows(info)[name]
        if row.state is ProcState.UP and row.pid not in (None, old_pid):
            return row
        assert time.monotonic() < deadline, f"{name} not back within {within}s: {row}"
        time.sleep(0.2)


def test_a_sigkilled_stream_process_is_healthy_again_within_10_s(stack: StackInfo) -> None:
    before = _rows(stack)["billing-stream"]
    assert before.state is ProcState.UP
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    after = _back_up(stack, "billing-stream", before.pid, within=10.0)
    assert after.restarts == before.restarts + 1
    log = (stack.log_dir / "supervisor.log").read_text()
    assert "billing-stream: died while up (killed by SIGKILL)" in log


def test_restart_gives_a_service_new_healthy_processes(stack: StackInfo) -> None:
    before = _rows(stack)
    assert restart_service("evidence", stack.state_dir) == ["evidence-http", "evidence-stream"]
    after = _rows(stack)
    for name in ("evidence-http", "evidence-stream"):
        assert after[name].state is ProcState.UP
        assert after[name].pid != before[name].pid
        assert after[name].restarts == 0
    assert httpx.get(f"{stack.urls['evidence']}/healthz", timeout=5).status_code == 200
    assert after["billing-http"].pid == before["billing-http"].pid


def test_status_is_zero_when_all_up_and_env_exports_the_stack(
    stack: StackInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--state-dir", str(stack.state_dir), "status"]) == 0
    assert main(["--state-dir", str(stack.state_dir), "env"]) == 0
    out = capsys.readouterr().out
    assert f"export ZENOPS_GATEWAY_URL={stack.urls['gateway']}\n" in out
    assert f"export ZENOPS_KAFKA_BOOTSTRAP={stack.kafka_bootstrap}\n" in out
    assert "export ZENOPS_JWT_SECRET=" in out
    assert "export ZENOPS_BILLING_DB_APP_URL=" in out
