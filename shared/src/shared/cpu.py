"""CPU-heavy work off the event loop (issue 18 item 3): DOCX rendering in factory, OCR in evidence.

A worker thread keeps the loop free of blocking calls but not of the GIL: a render holding the
interpreter for a second stalls every consumer and request of the process for that second. :func:`run_cpu`
runs such a function in a process pool instead, so the loop keeps its CPU share:

* the pool belongs to the process, created on first use (a process that never renders pays nothing) and
  bounded by ``workers`` (``ZENOPS_CPU_POOL_WORKERS``, 1 by default: two cores are shared with the
  broker, the database and the other services); its workers are started with ``spawn`` (no fork of a
  process with live event-loop threads, sockets and connection pools);
* only service processes turn it on (:func:`configure`, called by :mod:`shared.runtime` at start-up);
  unconfigured (tests on fakes, scripts), or with ``workers = 0``, the function runs in a worker thread as
  before, so injected fakes and closures need not be picklable;
* the function and its arguments cross the process boundary by pickling: module-level functions and
  plain data (bytes, dicts, dataclasses) only.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

_workers = 0
_pool: ProcessPoolExecutor | None = None


def configure(workers: int) -> None:
    """Turn the process pool on for this process with at most ``workers`` processes (0: threads)."""
    global _workers
    _workers = max(0, workers)


def _executor() -> ProcessPoolExecutor | None:
    global _pool
    if _workers <= 0:
        return None
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=_workers, mp_context=multiprocessing.get_context("spawn"))
        atexit.register(shutdown)
    return _pool


def shutdown() -> None:
    """Stop the pool's processes (at exit; a later :func:`run_cpu` creates a new pool)."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


async def run_cpu(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the process pool (a worker thread when the pool is off)."""
    pool = _executor()
    if pool is None:
        return await asyncio.to_thread(fn, *args, **kwargs)
    loop = asyncio.get_running_loop()
    call = functools.partial(fn, *args, **kwargs)
    try:
        return await loop.run_in_executor(pool, call)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): that pool refuses every later call, so the process
        # would never render again. Start a new pool and give the call its one more chance there.
        if _pool is pool:
            shutdown()
        fresh = _executor()
        if fresh is None:  # the pool was turned off meanwhile
            return await asyncio.to_thread(call)
        return await loop.run_in_executor(fresh, call)
