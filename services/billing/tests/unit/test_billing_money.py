"""Money: exact two-decimal amounts, minor units and HTTP JSON parsing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_service.domain.errors import InvalidAmount
from billing_service.domain.money import Money, parse_json_amount


class TestMoney:
    def test_minor_units_round_trip(self) -> None:
        m = Money.of("136.05")
        assert m.to_minor() == 13605
        assert Money.from_minor(13605) == m
        assert m.currency == "INR"

    def test_constructor_refuses_a_third_decimal(self) -> None:
        with pytest.raises(InvalidAmount):
            Money.of("0.125")

    def test_constructor_refuses_float(self) -> None:
        with pytest.raises(InvalidAmount):
            Money(0.1)  # type: ignore[arg-type]  # the float is what is refused

    def test_rounding_is_half_away_from_zero_and_explicit(self) -> None:
        assert Money.rounded(Decimal("0.125")).amount == Decimal("0.13")
        assert Money.rounded(Decimal("-0.125")).amount == Decimal("-0.13")
        assert Money.of("10.00").times(Decimal("0.185")).amount == Decimal("1.85")

    def test_currency_mismatch_is_refused(self) -> None:
        with pytest.raises(InvalidAmount):
            _ = Money.of(1, "INR") + Money.of(1, "USD")

    def test_json_text_is_shortest_form(self) -> None:
        assert Money.of("100.00").to_json_text() == "100"
        assert Money.of("100.50").to_json_text() == "100.5"
        assert Money.zero().to_json_text() == "0"

    @given(st.integers(min_value=-(10**15), max_value=10**15))
    def test_minor_round_trip_property(self, minor: int) -> None:
        assert Money.from_minor(minor).to_minor() == minor


class TestParseJsonAmount:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("100", "100.00"), ("100.1", "100.10"), ("136.05", "136.05"), ("1e2", "100.00"), ("0.10", "0.10")],
    )
    def test_accepts_json_numbers_with_at_most_two_decimals(self, raw: str, expected: str) -> None:
        as_float = json.loads(raw)
        as_decimal = json.loads(raw, parse_float=Decimal)
        assert parse_json_amount(as_float).amount == Decimal(expected)
        assert parse_json_amount(as_decimal).amount == Decimal(expected)
        assert parse_json_amount(raw).amount == Decimal(expected)

    @pytest.mark.parametrize("raw", ["0.125", "1.005", "100.001"])
    def test_rejects_more_than_two_decimals(self, raw: str) -> None:
        with pytest.raises(InvalidAmount):
            parse_json_amount(json.loads(raw))
        with pytest.raises(InvalidAmount):
            parse_json_amount(json.loads(raw, parse_float=Decimal))

    def test_rejects_amounts_beyond_decimal_precision(self) -> None:
        with pytest.raises(InvalidAmount):
            parse_json_amount("1e40")
        with pytest.raises(InvalidAmount):
            Money.rounded(Decimal("1e40"))

    @pytest.mark.parametrize("raw", [True, None, "abc", "1,000", " 0x10", float("nan"), float("inf"), [1]])
    def test_rejects_non_numbers(self, raw: object) -> None:
        with pytest.raises(InvalidAmount):
            parse_json_amount(raw)

    @given(st.integers(min_value=-(10**12), max_value=10**12))
    def test_every_two_decimal_json_number_survives_a_float_decode(self, minor: int) -> None:
        text = str(Decimal(minor).scaleb(-2))
        assert parse_json_amount(json.loads(text)).to_minor() == minor
