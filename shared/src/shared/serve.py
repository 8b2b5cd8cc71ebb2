"""One process, one event loop per service (issue 18 item 3): the HTTP app and the stream app together.

``python -m <pkg>.main serve --host H --port P`` runs uvicorn programmatically (uvloop, httptools with the
project's protocol class :class:`shared.uvicorn_protocol.JsonErrorsHttpToolsProtocol`, the options of the
``uvicorn`` command line the split mode runs) and, in the default ``combined`` process mode, the service's
:class:`shared.runtime.StreamApp` (consumer group, outbox relay, heartbeat and the service's periodic tasks)
as tasks of the same loop. ``ZENOPS_PROCESS_MODE=split`` keeps ``serve`` to the HTTP app; the stream app then
runs in its own process (``python -m <pkg>.main stream``), which scales the two apart.

Lifecycle:

* SIGTERM/SIGINT stop the HTTP server first (no new connections, in-flight requests finish: a request
  waiting for a consistency token still sees the consumer apply it), then the stream app (its tasks are
  cancelled, the producer flushed and stopped), then the database engines; the process exits 0;
* either part ending on its own (the stream app's consumer failing with something other than an outage,
  uvicorn failing to bind its port) stops the other and the process exits non-zero, so the supervisor (the
  dev stack's, or a container runtime's) restarts the whole service: never half a service;
* ``/readyz`` asks the stream part too: ``stream`` is not ``ok`` until the stream app runs, and while it
  runs it is the heartbeat's freshness as in the split mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from shared.uvicorn_protocol import JsonErrorsHttpToolsProtocol

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shared.runtime import StreamApp

log = logging.getLogger(__name__)

#: exit status when the HTTP server never started (uvicorn's own ``STARTUP_FAILURE``)
STARTUP_FAILURE = 3
#: exit status when one part stopped without being asked to
PART_DIED = 1


def _plain(record: logging.LogRecord) -> bool:
    """uvicorn's own log records carry an ANSI-coloured copy of the message; the JSON lines leave it out."""
    record.__dict__.pop("color_message", None)
    return True


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: :func:`serve` owns SIGTERM/SIGINT for both parts
    (uvicorn's handler would also re-raise the signal once it has shut down, ending the process before the
    stream app is stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def http_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    """The uvicorn options every service's HTTP app runs with (those of ``devstack.catalog``'s command
    line: httptools with JSON protocol errors, uvloop; the loop itself is the process's). ``log_config``
    is ``None``: uvicorn's loggers go through the root logger's JSON lines (:mod:`shared.telemetry`)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=JsonErrorsHttpToolsProtocol,
        loop="uvloop",
        lifespan="on",
        log_config=None,
    )


async def serve(
    app: Callable[[StreamApp | None], FastAPI],
    stream: Callable[[], StreamApp] | None,
    *,
    host: str,
    port: int,
) -> int:
    """Run the HTTP app (and the stream app unless ``stream`` is ``None``) until a signal or a failure;
    the process's exit status (0 after a signal, non-zero when a part died or never started)."""
    loop = asyncio.get_running_loop()
    logging.getLogger("uvicorn.error").addFilter(_plain)
    # aiokafka clients must be created inside the running loop, hence the factories
    stream_app = stream() if stream is not None else None
    server = _Server(http_config(app(stream_app), host, port))
    signalled = asyncio.Event()

    def stop() -> None:
        signalled.set()
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    async def http() -> int:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn's start-up failures (port taken, lifespan failed)
            return exc.code if isinstance(exc.code, int) and exc.code else STARTUP_FAILURE
        return 0 if server.started else STARTUP_FAILURE

    http_task = asyncio.create_task(http(), name="http")
    parts: set[asyncio.Future[Any]] = {http_task}
    stream_task: asyncio.Task[None] | None = None
    if stream_app is not None:
        stream_task = asyncio.create_task(stream_app.run(), name="stream")
        parts.add(stream_task)
    waiter = asyncio.create_task(signalled.wait(), name="signalled")
    try:
        await asyncio.wait({*parts, waiter}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        if stream_task is not None and stream_task.done() and not signalled.is_set():
            code = PART_DIED
            log.error("the stream app stopped; stopping the HTTP app", exc_info=_failure(stream_task))
        elif http_task.done() and not signalled.is_set():
            code = http_task.result() or PART_DIED
            log.error("the HTTP app stopped; stopping the stream app", extra={"exit_code": code})
        server.should_exit = True
        http_code = await http_task
        if stream_task is not None and not stream_task.done():
            stream_task.cancel()
        if stream_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(stream_task, return_exceptions=True)
        return code or http_code
    finally:
        waiter.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if stream_app is not None:
            await stream_app.db.dispose()


def _failure(task: asyncio.Task[None]) -> BaseException | None:
    if task.cancelled():
        return None
    return task.exception()
