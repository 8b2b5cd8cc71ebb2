"""Issue 19: a broker restart leaves each stream log a few lines, not thousands of reconnect errors.

Before, every stream log held ~2,400 ERROR lines after a broker restart (aiokafka logs each failed
reconnect, metadata request, heartbeat and commit). ``shared.telemetry.outages`` folds them into one
"broker unavailable" line when the outage starts and one "broker back" line when it ends.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from devstack.launcher import StackInfo, restart_service
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

STREAMS = ("workorders", "evidence", "billing", "factory")
#: ERROR lines a stream log may gain from one broker restart: the outage line, and room for one more
#: (a line already on its way when the outage began)
MAX_ERROR_LINES = 3


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _lines_since(path: Path, offset: int) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    lines = []
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"level": "RAW", "msg": raw})
    return lines


async def test_a_broker_restart_is_one_line_down_and_one_line_back_per_stream(stack: StackInfo) -> None:
    # the log of the process running each stream app: the service's one process (``<s>.log``), or its
    # stream process in the split process mode (``<s>-stream.log``)
    logs = {s: stack.log_dir / f"{stack.components(s)[-1]}.log" for s in STREAMS}
    offsets = {s: _size(p) for s, p in logs.items()}

    await asyncio.to_thread(restart_service, "kafka", stack.state_dir)

    async def all_back() -> bool:
        return all(
            any(line.get("msg") == "broker back" for line in _lines_since(logs[s], offsets[s]))
            for s in STREAMS
        )

    await eventually(all_back, "every stream process to log the broker back", within_s=180, every_s=1.0)
    for service in STREAMS:
        lines = _lines_since(logs[service], offsets[service])
        errors = [line for line in lines if line.get("level") == "ERROR"]
        assert len(errors) <= MAX_ERROR_LINES, f"{service}: {len(errors)} ERROR lines, e.g. {errors[:5]}"
        assert not [line for line in lines if line.get("level") == "RAW" and "Traceback" in line["msg"]], (
            service
        )
        down = [line for line in lines if line.get("msg") == "broker unavailable"]
        back = [line for line in lines if line.get("msg") == "broker back"]
        assert 1 <= len(down) <= 2, f"{service}: {down}"  # one outage (a second only after 30 s of failures)
        assert down[0]["dependency"] == back[0]["dependency"] == "broker"
        assert back[0]["down_for_s"] > 0
        assert back[0]["suppressed_lines"] >= 0
