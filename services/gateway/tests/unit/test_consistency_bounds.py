"""shared.consistency under hostile tokens (issue 12): strict client parsing, a hard bound on the wait,
lookups a few at a time, one per aggregate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from shared import consistency
from shared.consistency import (
    MAX_AWAITED_TOKENS,
    MAX_CLIENT_TOKENS,
    VersionToken,
    await_projections,
    parse_client_tokens,
    parse_tokens,
)
from shared.errors import BadRequest

WO = "6f1c1b9e-8a57-4c0e-9d5f-0c7a5a0f2d11"


def tok(i: int, version: int = 1) -> VersionToken:
    return VersionToken("workorders", "work-order", f"{i:08d}-0000-0000-0000-000000000000", version)


class TestParsing:
    def test_lenient_parse_drops_what_is_not_a_token(self) -> None:
        header = f"workorders:work-order:{WO}:3, junk, factory:pack:{WO}:²,factory:pack:{WO}:{2**63}"
        assert parse_tokens(header) == [VersionToken("workorders", "work-order", WO, 3)]

    def test_client_tokens_are_strict(self) -> None:
        assert parse_client_tokens(f" factory:pack:{WO}:2 ,, ") == [VersionToken("factory", "pack", WO, 2)]
        for bad in ("factory:pack:x", "factory:pack:x:-1", "Factory:pack:x:1", f"a:b:{'x' * 300}:1"):
            with pytest.raises(BadRequest) as err:
                parse_client_tokens(bad)
            assert err.value.code == "INVALID_CONSISTENCY_TOKEN", bad
        with pytest.raises(BadRequest) as err:
            parse_client_tokens(",".join(str(tok(i)) for i in range(MAX_CLIENT_TOKENS + 1)))
        assert err.value.code == "TOO_MANY_CONSISTENCY_TOKENS"
        with pytest.raises(BadRequest) as err:
            parse_client_tokens("," * 10_000)
        assert err.value.code == "TOO_MANY_CONSISTENCY_TOKENS"


class Lookups:
    """A projection that never reaches anything, counting lookups and how many ran at once."""

    def __init__(self, delay_s: float = 0.01, reached: int | None = None) -> None:
        self.delay_s = delay_s
        self.reached = reached
        self.calls = 0
        self.running = 0
        self.peak = 0

    async def __call__(self, _: str) -> int | None:
        self.calls += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.delay_s)
            return self.reached
        finally:
            self.running -= 1


class TestAwaitProjections:
    async def test_the_wait_has_a_hard_bound_whatever_the_budget(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(consistency, "MAX_WAIT_S", 0.3)
        lookup = Lookups()
        started = time.monotonic()
        pending = await await_projections(
            [tok(i) for i in range(MAX_AWAITED_TOKENS)],
            {("workorders", "work-order"): lookup},
            timeout_s=3600,
        )
        elapsed = time.monotonic() - started
        assert len(pending) == MAX_AWAITED_TOKENS
        assert elapsed < 1.5  # 0.3 s bound plus one round of in-flight lookups, not an hour
        assert lookup.peak <= consistency.LOOKUP_CONCURRENCY

    async def test_one_lookup_per_aggregate_and_only_projected_ones(self) -> None:
        lookup = Lookups(delay_s=0, reached=5)
        tokens = [tok(1, 2), tok(1, 5), tok(1, 3), VersionToken("evidence", "work-order-evidence", WO, 9)]
        pending = await await_projections(tokens, {("workorders", "work-order"): lookup}, timeout_s=1)
        assert pending == []
        assert lookup.calls == 1

    async def test_lookup_many_asks_once_per_round_for_every_pending_token(self) -> None:
        rounds: list[list[tuple[str, str, str]]] = []

        async def lookup_many(pending: Sequence[VersionToken]) -> dict[tuple[str, str, str], int | None]:
            rounds.append([t.key for t in pending])
            # the first round finds one aggregate behind, the second finds it caught up
            return {
                t.key: (t.version - 1 if len(rounds) == 1 and t.aggregate_id == WO else t.version)
                for t in pending
            }

        tokens = [VersionToken("workorders", "work-order", WO, 2), tok(1, 3)]
        lookup = Lookups()
        pending = await await_projections(
            tokens, {("workorders", "work-order"): lookup}, timeout_s=30, lookup_many=lookup_many
        )
        assert pending == []
        assert lookup.calls == 0  # the per-aggregate lookups are not used
        assert [sorted(keys) for keys in rounds] == [sorted(t.key for t in tokens), [tokens[0].key]]

    async def test_too_many_aggregates_is_a_400(self) -> None:
        with pytest.raises(BadRequest) as err:
            await await_projections(
                [tok(i) for i in range(MAX_AWAITED_TOKENS + 1)],
                {("workorders", "work-order"): Lookups()},
                timeout_s=1,
            )
        assert err.value.code == "TOO_MANY_CONSISTENCY_TOKENS"

    async def test_polling_backs_off(self) -> None:
        lookup = Lookups(delay_s=0)
        await await_projections([tok(1)], {("workorders", "work-order"): lookup}, timeout_s=1.0)
        # a fixed 50 ms poll would look 20 times in a second; the backing-off one far fewer
        assert 3 <= lookup.calls <= 12
