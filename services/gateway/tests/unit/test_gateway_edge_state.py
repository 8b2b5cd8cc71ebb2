"""Rate limiter and read-your-writes token memory, with a fake clock."""

from __future__ import annotations

import pytest

from gateway_service.ratelimit import RateLimiter
from gateway_service.tokens import ClientTokens
from shared.consistency import VersionToken
from shared.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tok(aggregate_id: str, version: int, service: str = "workorders") -> VersionToken:
    return VersionToken(service, "work-order", aggregate_id, version)


class TestRateLimiter:
    def test_limit_then_retry_after_then_refill(self) -> None:
        clock = Clock()
        limiter = RateLimiter(3, clock=clock)
        assert [limiter.retry_after("a") for _ in range(3)] == [None, None, None]
        wait = limiter.retry_after("a")
        assert wait == 20  # one token per 20 s at 3/min
        assert limiter.retry_after("b") is None  # per client
        clock.now += 20
        assert limiter.retry_after("a") is None
        assert limiter.retry_after("a") is not None

    def test_check_raises_429_with_retry_after_in_details(self) -> None:
        limiter = RateLimiter(1, clock=Clock())
        limiter.check("a")
        with pytest.raises(TooManyRequests) as err:
            limiter.check("a")
        assert err.value.status == 429
        assert err.value.details["retry_after_s"] == 60

    def test_memory_is_bounded(self) -> None:
        limiter = RateLimiter(1, max_clients=2, clock=Clock())
        for client in ("a", "b", "c"):
            limiter.check(client)
        # "a" was forgotten (least recently seen), so it starts again with a full bucket
        limiter.check("a")
        with pytest.raises(TooManyRequests):
            limiter.check("a")


class TestClientTokens:
    def test_keeps_max_version_per_aggregate_and_merges_with_sent(self) -> None:
        store = ClientTokens(clock=Clock())
        store.remember("c1", [tok("w1", 3)])
        store.remember("c1", [tok("w1", 2), tok("w2", 1, "evidence")])
        after = store.after("c1", [tok("w1", 5), tok("w3", 1)])
        assert {str(t) for t in after} == {
            "workorders:work-order:w1:5",
            "evidence:work-order:w2:1",
            "workorders:work-order:w3:1",
        }
        assert store.after("c2") == []
        assert store.after(None, [tok("w9", 1)]) == [tok("w9", 1)]

    def test_bounded_per_client_and_in_clients(self) -> None:
        store = ClientTokens(per_client=2, max_clients=2, clock=Clock())
        store.remember("c1", [tok("w1", 1), tok("w2", 1), tok("w3", 1)])
        assert [t.aggregate_id for t in store.after("c1")] == ["w2", "w3"]
        store.remember("c2", [tok("w1", 1)])
        store.remember("c3", [tok("w1", 1)])
        assert len(store) == 2
        assert store.after("c1") == []

    def test_tokens_expire(self) -> None:
        clock = Clock()
        store = ClientTokens(ttl_s=10, clock=clock)
        store.remember("c1", [tok("w1", 1)])
        clock.now += 11
        assert store.after("c1") == []
