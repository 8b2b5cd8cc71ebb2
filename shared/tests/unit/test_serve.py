"""``serve`` (issue 18 item 3): the HTTP app and the stream app in one process and one event loop.

Real uvicorn on a free port, a stand-in stream app (the real one needs the broker; the stack's tests run
the real one in every service): a SIGTERM stops both and exits 0; either part dying stops the other and
exits non-zero; ``/readyz`` says ``not running`` while the stream part does not run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from typing import cast

import httpx
from fastapi import FastAPI

from devstack.testing.polling import eventually
from shared import serve as serving
from shared.health import OK, Readiness
from shared.runtime import StreamApp, _local_stream_probe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Db:
    def __init__(self) -> None:
        self.disposed = 0

    async def dispose(self) -> None:
        self.disposed += 1


class FakeStream:
    """The parts of :class:`StreamApp` ``serve`` uses: ``run``, ``running``, ``db``."""

    def __init__(self, fail_after: asyncio.Event | None = None) -> None:
        self.db = _Db()
        self.running = False
        self.cancelled = False
        self._fail_after = fail_after

    async def run(self) -> None:
        self.running = True
        try:
            if self._fail_after is not None:
                await self._fail_after.wait()
                raise RuntimeError("consumer failed")
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.running = False


def _app(stream: StreamApp | None) -> FastAPI:
    app = FastAPI()
    readiness = Readiness({"stream": _local_stream_probe(cast(StreamApp, stream), _heartbeat)})

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return await readiness.check()

    return app


async def _heartbeat() -> str:
    return OK


async def _until_answering(port: int) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

        async def answer() -> httpx.Response | None:
            try:
                return await client.get("/readyz")
            except httpx.TransportError:
                return None

        return await eventually(answer, "the HTTP part to answer", every_s=0.05)


async def test_sigterm_stops_both_parts_and_exits_zero() -> None:
    stream = FakeStream()
    port = _free_port()
    running = asyncio.create_task(
        serving.serve(_app, lambda: cast(StreamApp, stream), host="127.0.0.1", port=port)
    )
    answer = await _until_answering(port)
    assert answer.json() == {"stream": "ok"}
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 30) == 0
    assert stream.cancelled
    assert stream.db.disposed == 1
    with socket.socket() as s:  # the port is free again: the server closed its socket
        s.bind(("127.0.0.1", port))


async def test_the_stream_part_dying_stops_the_http_part_and_exits_non_zero() -> None:
    fail = asyncio.Event()
    stream = FakeStream(fail)
    port = _free_port()
    running = asyncio.create_task(
        serving.serve(_app, lambda: cast(StreamApp, stream), host="127.0.0.1", port=port)
    )
    await _until_answering(port)
    fail.set()
    assert await asyncio.wait_for(running, 30) == serving.PART_DIED
    assert stream.db.disposed == 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


async def test_the_http_part_failing_to_start_stops_the_stream_part() -> None:
    stream = FakeStream()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        code = await asyncio.wait_for(
            serving.serve(_app, lambda: cast(StreamApp, stream), host="127.0.0.1", port=port), 30
        )
    assert code == serving.STARTUP_FAILURE
    assert stream.cancelled
    assert not stream.running


async def test_split_mode_serves_http_alone_until_signalled() -> None:
    port = _free_port()
    seen: list[StreamApp | None] = []

    def app(stream: StreamApp | None) -> FastAPI:
        seen.append(stream)
        plain = FastAPI()

        @plain.get("/readyz")
        async def readyz() -> dict[str, str]:
            return {}

        return plain

    running = asyncio.create_task(serving.serve(app, None, host="127.0.0.1", port=port))
    assert (await _until_answering(port)).status_code == 200
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 30) == 0
    assert seen == [None]


async def test_readiness_names_a_stream_part_that_does_not_run() -> None:
    stream = FakeStream()
    probe = _local_stream_probe(cast(StreamApp, stream), _heartbeat)
    assert await probe() == "not running"
    stream.running = True
    assert await probe() == OK
