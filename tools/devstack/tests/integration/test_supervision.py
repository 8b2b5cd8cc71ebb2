"""Supervision on the running stack: a SIGKILLed process comes back by itself; ``restart`` and ``env``; a
service switched to the split process mode and back (issue 18 item 3)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from devstack.__main__ import main
from devstack.launcher import (
    ComponentStatus,
    StackInfo,
    restart_service,
    stack_status,
    switch_process_mode,
)
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


def _ready(info: StackInfo, service: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{info.urls[service]}/readyz", timeout=10).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def test_a_sigkilled_service_process_is_healthy_again(stack: StackInfo) -> None:
    # billing's one process: its HTTP app, consumers, relay and scheduled jobs (the combined mode)
    before = _rows(stack)["billing"]
    assert before.state is ProcState.UP
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    after = _back_up(stack, "billing", before.pid, within=60.0)
    assert after.restarts == before.restarts + 1
    log = (stack.log_dir / "supervisor.log").read_text()
    assert "billing: died while up (killed by SIGKILL)" in log


def test_restart_gives_a_service_new_healthy_processes(stack: StackInfo) -> None:
    before = _rows(stack)
    assert restart_service("evidence", stack.state_dir) == ["evidence"]
    after = _rows(stack)
    assert after["evidence"].state is ProcState.UP
    assert after["evidence"].pid != before["evidence"].pid
    assert after["evidence"].restarts == 0
    assert httpx.get(f"{stack.urls['evidence']}/healthz", timeout=5).status_code == 200
    assert after["billing"].pid == before["billing"].pid


def test_a_service_switched_to_the_split_mode_runs_two_supervised_processes_and_back(
    stack: StackInfo,
) -> None:
    try:
        assert switch_process_mode("evidence", "split", stack.state_dir) == [
            "evidence-http",
            "evidence-stream",
        ]
        rows = _rows(stack)
        assert "evidence" not in rows
        assert rows["evidence-http"].state is ProcState.UP
        assert rows["evidence-stream"].state is ProcState.UP
        # the stream process alone is supervised too
        stream = rows["evidence-stream"]
        assert stream.pid is not None
        os.kill(stream.pid, signal.SIGKILL)
        _back_up(stack, "evidence-stream", stream.pid, within=60.0)
        # "up" is alive for a second; ready once the new stream process beats again (its start under
        # load takes far longer than that)
        assert _ready(stack, "evidence", within=180.0)
    finally:
        assert switch_process_mode("evidence", "combined", stack.state_dir) == ["evidence"]
    rows = _rows(stack)
    assert {"evidence-http", "evidence-stream"}.isdisjoint(rows)
    assert rows["evidence"].state is ProcState.UP


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
