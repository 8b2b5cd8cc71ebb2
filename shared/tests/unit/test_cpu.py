"""shared.cpu: CPU-heavy work in the process pool of a service process, in a thread elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared import cpu


def pid_and_sum(*numbers: int, offset: int = 0) -> tuple[int, int]:
    """The pid of the process that ran it and the sum (module level: picklable)."""
    return os.getpid(), sum(numbers) + offset


@pytest.fixture(autouse=True)
def pool_off() -> Iterator[None]:
    """Every test starts and ends with the pool off (module state of the process)."""
    yield
    cpu.configure(0)
    cpu.shutdown()


async def test_unconfigured_runs_in_this_process() -> None:
    pid, total = await cpu.run_cpu(pid_and_sum, 1, 2, offset=3)
    assert (pid, total) == (os.getpid(), 6)


async def test_unconfigured_accepts_closures() -> None:
    # fakes injected in handler tests need not be picklable
    assert await cpu.run_cpu(lambda: "fake") == "fake"


async def test_configured_runs_in_a_pool_process_with_args_and_kwargs() -> None:
    # builtins: the pool's spawned processes import what they run, and a test module is not importable
    cpu.configure(1)
    first = await cpu.run_cpu(os.getpid)
    second = await cpu.run_cpu(os.getpid)
    assert first != os.getpid()
    assert second == first  # one bounded pool, reused
    assert await cpu.run_cpu(int, "ff", base=16) == 255


async def test_an_exception_in_the_pool_reaches_the_caller() -> None:
    cpu.configure(1)
    with pytest.raises(ZeroDivisionError):
        await cpu.run_cpu(divmod, 1, 0)


async def test_zero_workers_keeps_the_thread() -> None:
    cpu.configure(0)
    pid, _ = await cpu.run_cpu(pid_and_sum)
    assert pid == os.getpid()


async def test_a_pool_whose_worker_died_is_replaced() -> None:
    # a worker killed (out of memory, an operator's kill) breaks its pool for every later call
    cpu.configure(1)
    dead = await cpu.run_cpu(os.getpid)
    os.kill(dead, 9)
    again = await cpu.run_cpu(os.getpid)
    assert again not in {dead, os.getpid()}
