"""A short run of `make fuzz` in `make test`: schemathesis against the gateway as each audience.

The same three checks as `make fuzz` (no 5xx, no undocumented status code, every body valid against its
documented schema) on every operation of the merged document, with few examples and a fixed seed so a
failure reproduces (`python -m scripts.fuzz --audience <name> --seed 20261201 --max-examples 2
--phases fuzzing -v`). The failure message names each failed check, its operation and who answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.launcher import StackInfo
from scripts.fuzz import AUDIENCES, DEFAULT_CHECKS, findings_markdown, fuzz_audience

pytestmark = pytest.mark.stack

SEED = 20261201


@pytest.mark.timeout(300)
@pytest.mark.parametrize("audience", sorted(AUDIENCES))
def test_every_operation_passes_the_schema_checks(stack: StackInfo, audience: str, tmp_path: Path) -> None:
    run = fuzz_audience(
        stack,
        AUDIENCES[audience],
        max_examples=2,
        checks=DEFAULT_CHECKS,
        phases=("fuzzing",),
        seed=SEED,
        report_dir=tmp_path,
        timeout_s=240,
    )

    assert "Operations:" in run.output, run.output[-3000:]  # the schema loaded and operations ran
    assert not run.findings, f"{run.verdict()}\n{findings_markdown(run.findings)}"
    assert run.returncode == 0, run.output[-12_000:]
