"""A short run of `make fuzz` in `make test`: schemathesis against the gateway as each audience.

Every generated request (valid, invalid, hostile: NUL bytes, huge numbers, wrong types) must get an
answer below 500 through the gateway on the real stack. `make fuzz` runs the same with more examples
and every phase; the seed is fixed here so a failure reproduces.
"""

from __future__ import annotations

import pytest

from scripts.fuzz import AUDIENCES, fuzz_audience
from shared.devstack.launcher import StackInfo

pytestmark = pytest.mark.stack


@pytest.mark.timeout(900)
@pytest.mark.parametrize("audience", ["web", "studio", "portal", "worker"])
def test_no_operation_answers_a_server_error(stack: StackInfo, audience: str) -> None:
    run = fuzz_audience(
        stack, AUDIENCES[audience], max_examples=4, phases=("fuzzing",), seed=20261201, timeout_s=800
    )

    assert "Operations:" in run.output, run.output[-3000:]  # the schema loaded and operations ran
    assert run.returncode == 0, run.output[-12_000:]
