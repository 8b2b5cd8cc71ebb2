"""Indian-grouped money and quantities from exact decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factory_service.rendering.formatting import (
    MISSING,
    format_indian,
    format_inr,
    format_quantity,
    format_rate_per_sqm,
    to_decimal,
)


class TestFormatInr:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (5000000, "₹ 50,00,000.00"),
            (4750000, "₹ 47,50,000.00"),
            (47499999.05, "₹ 4,74,99,999.05"),
            (39999999.2, "₹ 3,99,99,999.20"),
            (15431.25, "₹ 15,431.25"),
            (500, "₹ 500.00"),
            (0, "₹ 0.00"),
            (123456789012, "₹ 1,23,45,67,89,012.00"),
            (Decimal("1.005"), "₹ 1.01"),
            ("2500.5", "₹ 2,500.50"),
            (-1234567, "-₹ 12,34,567.00"),
        ],
    )
    def test_values(self, value: object, text: str) -> None:
        assert format_inr(value) == text

    @pytest.mark.parametrize("value", [None, True, "abc", "", float("nan"), float("inf"), {}, []])
    def test_non_numbers_print_as_missing(self, value: object) -> None:
        assert format_inr(value) == MISSING

    def test_float_is_read_through_its_shortest_text_not_its_binary_expansion(self) -> None:
        # 1.005 is 1.00499999... in binary; the bundle (and the JavaScript that wrote it) says 1.005.
        assert to_decimal(1.005) == Decimal("1.005")
        assert format_inr(1.005) == "₹ 1.01"


class TestQuantities:
    def test_area_and_rate(self) -> None:
        assert format_quantity(92.9, "sqm") == "92.90 sqm"
        assert format_quantity(None, "sqm") == MISSING
        assert format_rate_per_sqm(16145.85) == "₹ 16,145.85 / sqm"
        assert format_rate_per_sqm(None) == MISSING

    def test_zero_places(self) -> None:
        assert format_indian(100, 0) == "100"
        assert format_indian(99.5, 0) == "100"


@given(st.integers(min_value=0, max_value=10**15))
def test_grouping_round_trips_and_follows_the_indian_pattern(value: int) -> None:
    text = format_indian(value, 0)
    assert text is not None
    groups = text.split(",")
    assert int("".join(groups)) == value
    assert len(groups[-1]) == 3 or len(groups) == 1
    assert all(len(group) == 2 for group in groups[1:-1])
    assert 1 <= len(groups[0]) <= (3 if len(groups) == 1 else 2)
