"""``/healthz`` (liveness, no dependency asked) and ``/readyz`` (every probe, bounded, 503 ``NOT_READY``)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from shared.health import OK, BrokerProbe, Readiness
from shared.http import create_service_app
from shared.settings import ServiceSettings


async def _ok() -> str:
    return OK


async def _stale() -> str:
    return "stale (42 s)"


async def _hangs() -> str:
    await asyncio.sleep(60)
    return OK


async def _raises() -> str:
    raise ConnectionRefusedError("secret host:5432")


async def _probe_app(readiness: Readiness) -> tuple[httpx.Response, httpx.Response, dict[str, object]]:
    app = create_service_app(
        ServiceSettings(env="test", service_name="probe"), title="t", readiness=readiness
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get("/healthz"), await client.get("/readyz"), app.openapi()


class TestProbes:
    async def test_ready_answers_200_with_every_check(self) -> None:
        live, ready, _ = await _probe_app(Readiness({"database": _ok, "broker": _ok}))
        assert (live.status_code, live.json()) == (200, {"status": "ok", "service": "probe"})
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "service": "probe", "details": {"broker": OK, "database": OK}}

    async def test_not_ready_is_503_naming_each_failure_without_its_text(self) -> None:
        probes = {"database": _raises, "broker": _hangs, "stream": _stale, "other": _ok}
        live, ready, _ = await _probe_app(Readiness(probes, timeout_s=0.2))
        assert live.status_code == 200  # liveness never asks the dependencies
        assert ready.status_code == 503
        body = ready.json()
        assert body["code"] == "NOT_READY"
        assert body["details"] == {
            "broker": "unavailable (TimeoutError)",
            "database": "unavailable (ConnectionRefusedError)",
            "other": OK,
            "stream": "stale (42 s)",
        }
        assert "secret" not in ready.text

    async def test_both_are_documented_with_every_status(self) -> None:
        _, _, document = await _probe_app(Readiness({}))
        paths = document["paths"]
        assert isinstance(paths, dict)
        assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
        assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestBrokerProbe:
    async def test_a_down_broker_is_unavailable_and_asked_once_per_cache_period(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        probe = BrokerProbe(f"127.0.0.1:{_closed_port()}", timeout_s=1.0, cache_s=60)
        asked = 0
        ask = probe._ask

        async def counted() -> str:
            nonlocal asked
            asked += 1
            return await ask()

        monkeypatch.setattr(probe, "_ask", counted)
        answers = await asyncio.gather(*(probe() for _ in range(3)))
        assert answers[0].startswith("unavailable (")
        assert len(set(answers)) == 1
        assert asked == 1
