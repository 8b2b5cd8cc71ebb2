"""The status cache (domain.md §8.3) on a fake clock: TTL, force refresh, invalidation, the envelope."""

from __future__ import annotations

from typing import Any

from clients.v1_bridge.tests.unit.fakes import FakeClock, ScriptedSource, credit_status
from v1_bridge.status import StatusCache, StatusUnavailable, normalize_status


def cache_of(source: ScriptedSource, clock: FakeClock, **options: Any) -> StatusCache:
    return StatusCache(source, clock=clock.monotonic, wall=clock.wall, **options)


async def test_the_ttl_is_at_least_one_second() -> None:
    clock = FakeClock()
    source = ScriptedSource(then=credit_status)
    cache = cache_of(source, clock, ttl_s=0.01)
    assert cache.ttl_s == 1
    await cache.lookup("v1:partner:1")
    clock.advance(0.5)
    await cache.lookup("v1:partner:1")
    assert len(source.calls) == 1
    clock.advance(0.5)
    await cache.lookup("v1:partner:1")
    assert len(source.calls) == 2


async def test_an_entry_expires_exactly_at_the_ttl() -> None:
    clock = FakeClock()
    source = ScriptedSource(then=credit_status)
    cache = cache_of(source, clock)
    await cache.lookup("v1:partner:1")
    clock.advance(44.999)
    await cache.lookup("v1:partner:1")
    assert len(source.calls) == 1
    clock.advance(0.001)
    await cache.lookup("v1:partner:1")
    assert len(source.calls) == 2


async def test_force_refresh_asks_even_within_the_ttl() -> None:
    clock = FakeClock()
    source = ScriptedSource(then=credit_status)
    cache = cache_of(source, clock)
    await cache.lookup("v1:partner:1")
    await cache.lookup("v1:partner:1", force_refresh=True)
    assert len(source.calls) == 2


async def test_invalidate_forgets_the_key_only() -> None:
    clock = FakeClock()
    source = ScriptedSource(then=credit_status)
    cache = cache_of(source, clock)
    await cache.lookup("v1:partner:1")
    await cache.lookup("v1:partner:2")
    cache.invalidate("v1:partner:1")
    cache.invalidate(None)
    assert "v1:partner:1" not in cache
    assert "v1:partner:2" in cache
    await cache.lookup("v1:partner:1")
    await cache.lookup("v1:partner:2")
    assert source.calls == ["v1:partner:1", "v1:partner:2", "v1:partner:1"]


async def test_a_fresh_envelope_carries_the_fetch_time_and_the_normalised_status() -> None:
    clock = FakeClock()
    cache = cache_of(ScriptedSource(then=credit_status), clock)
    fetched_at = clock.wall()
    answer = await cache.lookup(" v1:partner:1 ")
    assert answer.as_dict() == {
        "reachable": True,
        "stale": False,
        "error": None,
        "fetched_at": fetched_at.isoformat(),
        "status": answer.status.model_dump(mode="json"),
    }
    assert answer.status.billing_mode == "CREDIT"
    assert answer.status.can_use_credits
    assert not answer.status.insufficient_credits
    assert "v1:partner:1" in cache


async def test_stale_keeps_the_old_fetch_time_and_says_why() -> None:
    clock = FakeClock()
    source = ScriptedSource(credit_status("k"), StatusUnavailable("v2 answered 503: NOT_READY"))
    cache = cache_of(source, clock)
    first = await cache.lookup("v1:partner:1")
    clock.advance(60)
    second = await cache.lookup("v1:partner:1")
    assert (second.reachable, second.stale) == (False, True)
    assert second.fetched_at == first.fetched_at
    assert second.error == "v2 answered 503: NOT_READY"
    assert second.status == first.status


async def test_no_history_answers_the_v1_default_and_caches_nothing() -> None:
    clock = FakeClock()
    cache = cache_of(ScriptedSource(ConnectionError("refused")), clock, default_mode="postpaid")
    answer = await cache.lookup("v1:partner:9")
    assert answer.as_dict() == {
        "reachable": False,
        "stale": False,
        "error": "refused",
        "fetched_at": None,
        "status": {
            "billing_mode": "POSTPAID",
            "account_status": "ACTIVE",
            "payment_terms_days": 15,
            "credit": {"wallet": 0, "reserved": 0, "available": 0},
            "account_id": None,
            "external_key": None,
            "source": "v1_default",
        },
    }
    assert "v1:partner:9" not in cache


async def test_an_unusable_answer_counts_as_a_failure() -> None:
    clock = FakeClock()
    cache = cache_of(ScriptedSource({"credit": {"wallet": "lots"}}), clock)
    answer = await cache.lookup("v1:partner:9")
    assert answer.reachable is False
    assert answer.status.source == "v1_default"


def test_normalisation_defaults_and_upper_cases() -> None:
    status = normalize_status({"billing_mode": "credit", "status": "suspended", "credit": None})
    assert status.billing_mode == "CREDIT"
    assert status.account_status == "SUSPENDED"
    assert status.payment_terms_days == 15
    assert status.credit.available == 0
    assert status.insufficient_credits
    assert not status.can_use_credits
    assert normalize_status({}).billing_mode == "POSTPAID"
