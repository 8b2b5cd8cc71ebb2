"""Vectors M (``../shared/spec/vectors.md``): V1's adapter, V1-01..V1-04, exactly as specified."""

from __future__ import annotations

import hashlib

from clients.v1_bridge.tests.unit.fakes import FakeClock, ScriptedSource, credit_status
from v1_bridge.keys import invoice_event_key, normalize_key, parse_key
from v1_bridge.status import StatusCache, StatusUnavailable


def test_external_key_normalization_roundtrip() -> None:
    """V1-01: normalize("external_associate", 77) → v1:partner:77; parse → ("partner", 77)."""
    key = normalize_key("external_associate", 77)
    assert key == "v1:partner:77"
    assert parse_key(key) == ("partner", 77)


async def test_status_cache_ttl_behavior() -> None:
    """V1-02: two lookups within the 45 s TTL make one HTTP call; after expiry a second call."""
    clock = FakeClock()
    source = ScriptedSource(then=credit_status)
    cache = StatusCache(source, clock=clock.monotonic, wall=clock.wall)
    assert cache.ttl_s == 45

    first = await cache.lookup("v1:partner:101")
    clock.advance(44)
    second = await cache.lookup("v1:partner:101")
    assert first.reachable
    assert second.reachable
    assert source.calls == ["v1:partner:101"]

    cache.expire("v1:partner:101")
    third = await cache.lookup("v1:partner:101")
    assert third.reachable
    assert source.calls == ["v1:partner:101", "v1:partner:101"]


async def test_fail_open_returns_stale_then_default() -> None:
    """V1-03: CREDIT, then failures: stale CREDIT for the known key, the POSTPAID default for a new one."""
    clock = FakeClock()
    source = ScriptedSource(credit_status("v1:partner:7"), then=lambda _k: StatusUnavailable("v2 down"))
    cache = StatusCache(source, clock=clock.monotonic, wall=clock.wall)

    first = await cache.lookup("v1:partner:7")
    assert first.reachable
    assert first.status.billing_mode == "CREDIT"

    second = await cache.lookup("v1:partner:7", force_refresh=True)
    assert second.reachable is False
    assert second.stale is True
    assert second.status.billing_mode == "CREDIT"

    third = await cache.lookup("v1:partner:8", force_refresh=True)
    assert third.reachable is False
    assert third.stale is False
    assert third.status.billing_mode == "POSTPAID"
    assert "v1:partner:8" not in cache


def test_invoice_event_key() -> None:
    """V1-04: invoice_paid, invoice 42, payment 7, PAID, 2026-01-01T00:00:00, amount due 0.00."""
    digest = hashlib.sha256(b"v1|invoice_paid|42|7|PAID|2026-01-01T00:00:00|0.00").hexdigest()[:16]
    key = invoice_event_key(
        "invoice_paid",
        invoice_id=42,
        payment_id=7,
        status="PAID",
        updated_at="2026-01-01T00:00:00",
        amount_due="0.00",
    )
    assert key == f"v1:invoice_paid:42:7:{digest}"
