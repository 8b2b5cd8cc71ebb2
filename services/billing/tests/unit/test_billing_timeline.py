"""The timeline's order and its keyset cursor (domain.md §7.5): pure rules."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from billing_service.domain.errors import InvalidCursor
from billing_service.domain.timeline import (
    INVOICE_SOURCE,
    LEDGER_SOURCE,
    USAGE_V1_SOURCE,
    USAGE_V2_SOURCE,
    TimelineKey,
    comes_after,
    decode_cursor,
    encode_cursor,
    invoice_event_type,
    merge_page,
    sort_key,
    usage_source,
)

T0 = datetime(2026, 2, 24, 10, 0, tzinfo=UTC)
A, B = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"


@dataclass(frozen=True)
class Item:
    key: TimelineKey


def key(seconds: float, source: str = LEDGER_SOURCE, ident: str = A) -> TimelineKey:
    return TimelineKey(T0 + timedelta(seconds=seconds), source, ident)


class TestOrder:
    def test_newest_first_then_source_ascending_then_id_descending(self) -> None:
        keys = [
            key(0, USAGE_V1_SOURCE),
            key(1),
            key(0, LEDGER_SOURCE, A),
            key(0, LEDGER_SOURCE, B),
            key(0, INVOICE_SOURCE),
            key(0, USAGE_V2_SOURCE),
        ]
        assert sorted(keys, key=sort_key) == [
            key(1),
            key(0, LEDGER_SOURCE, B),
            key(0, LEDGER_SOURCE, A),
            key(0, INVOICE_SOURCE),
            key(0, USAGE_V1_SOURCE),
            key(0, USAGE_V2_SOURCE),
        ]

    def test_microseconds_order_exactly(self) -> None:
        later = TimelineKey(T0 + timedelta(microseconds=1), LEDGER_SOURCE, A)
        assert sorted([key(0), later], key=sort_key) == [later, key(0)]

    def test_comes_after_agrees_with_the_sort(self) -> None:
        keys = sorted(
            [key(s, src, i) for s in (0, 1) for src in (LEDGER_SOURCE, USAGE_V2_SOURCE) for i in (A, B)],
            key=sort_key,
        )
        for n, bound in enumerate(keys):
            assert [k for k in keys if comes_after(k, bound)] == keys[n + 1 :]

    def test_source_and_event_names(self) -> None:
        assert usage_source("v1") == "USAGE_V1"
        assert invoice_event_type("partially_paid") == "INVOICE_PARTIALLY_PAID"


class TestMergePage:
    def test_first_items_of_the_union_and_the_next_position(self) -> None:
        ledger = [Item(key(5)), Item(key(3)), Item(key(1))]
        usage = [Item(key(4, USAGE_V1_SOURCE)), Item(key(2, USAGE_V1_SOURCE))]
        page = merge_page((ledger, usage), 3)
        assert [i.key for i in page.items] == [key(5), key(4, USAGE_V1_SOURCE), key(3)]
        assert page.next_key == key(3)

    def test_the_last_page_has_no_next_position(self) -> None:
        page = merge_page(([Item(key(1))], [Item(key(2, INVOICE_SOURCE))]), 2)
        assert page.next_key is None
        assert merge_page(([], []), 5).items == []


class TestCursor:
    def test_roundtrip_keeps_microseconds_and_offset(self) -> None:
        position = TimelineKey(T0 + timedelta(microseconds=123_456), USAGE_V2_SOURCE, B)
        cursor = encode_cursor(position)
        assert "=" not in cursor
        assert decode_cursor(cursor) == position

    @pytest.mark.parametrize(
        "payload",
        [
            {"v": 2, "t": T0.isoformat(), "s": LEDGER_SOURCE, "i": A},
            {"v": 1, "t": T0.isoformat(), "s": "ELSEWHERE", "i": A},
            {"v": 1, "t": "yesterday", "s": LEDGER_SOURCE, "i": A},
            {"v": 1, "t": "2026-02-24T10:00:00", "s": LEDGER_SOURCE, "i": A},  # no offset
            {"v": 1, "t": T0.isoformat(), "s": LEDGER_SOURCE, "i": "not-a-uuid"},
            {"v": 1, "t": T0.isoformat(), "s": LEDGER_SOURCE, "i": A.upper()},
            {"v": 1, "t": 5, "s": LEDGER_SOURCE, "i": A},
            [1, 2],
        ],
    )
    def test_anything_not_encoded_here_is_invalid(self, payload: object) -> None:
        cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
        with pytest.raises(InvalidCursor) as exc:
            decode_cursor(cursor)
        assert (exc.value.status, exc.value.code) == (400, "INVALID_CURSOR")

    @pytest.mark.parametrize("cursor", ["", "%%%", "abc", "x" * 513, "\x00", str(uuid.uuid4())])
    def test_garbage_is_invalid(self, cursor: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(cursor)
