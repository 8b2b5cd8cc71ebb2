"""``shared.consistency.wait_until`` woken by a notification (``wake``) instead of its poll."""

from __future__ import annotations

import asyncio

from shared.consistency import wait_until


async def test_a_wake_set_during_a_check_ends_the_next_pause_at_once() -> None:
    calls: list[int] = []
    wake = asyncio.Event()

    async def check() -> str | None:
        calls.append(1)
        if len(calls) == 1:
            wake.set()  # the notification arrives while the first check runs
            return None
        return "settled"

    # an hour's pause: only the event can end it
    assert await wait_until(check, timeout_s=7200, interval_s=3600, wake=wake) == "settled"
    assert len(calls) == 2


async def test_pause_first_starts_with_the_pause_instead_of_a_check() -> None:
    calls: list[int] = []
    wake = asyncio.Event()
    wake.set()

    async def check() -> str | None:
        calls.append(1)
        return "settled"

    assert await wait_until(check, timeout_s=7200, interval_s=3600, wake=wake, pause_first=True) == "settled"
    assert len(calls) == 1


async def test_without_a_value_it_gives_up_at_the_deadline() -> None:
    calls: list[int] = []

    async def check() -> str | None:
        calls.append(1)
        return None

    assert await wait_until(check, timeout_s=0, wake=asyncio.Event()) is None
    assert len(calls) == 1
