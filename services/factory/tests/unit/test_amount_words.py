"""Rupee amounts in words, Indian numbering (issue 21 item 3): vectors and the inverse over a range."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factory_service.rendering.amount_words import integer_words, parse_rupees_words, rupees_in_words
from factory_service.rendering.formatting import MISSING


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "Rupees Zero Only"),
        (1, "Rupees One Only"),
        (99, "Rupees Ninety-Nine Only"),
        (100_000, "Rupees One Lakh Only"),
        (10_000_000, "Rupees One Crore Only"),
        (Decimal("3500000.50"), "Rupees Thirty-Five Lakh and Fifty Paise Only"),
        # the largest amount a contract patch accepts (MAX_CONTRACT_NUMBER = 1e15)
        (1e15, "Rupees Ten Crore Crore Only"),
        (
            Decimal("999999999999999.99"),
            "Rupees Nine Crore Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine Crore "
            "Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine and Ninety-Nine Paise Only",
        ),
        (3325000, "Rupees Thirty-Three Lakh Twenty-Five Thousand Only"),
        (2800000, "Rupees Twenty-Eight Lakh Only"),
        (105, "Rupees One Hundred Five Only"),
        (
            1_234_567_890,
            "Rupees One Hundred Twenty-Three Crore Forty-Five Lakh Sixty-Seven Thousand "
            "Eight Hundred Ninety Only",
        ),
        (Decimal("0.50"), "Fifty Paise Only"),
        (Decimal("0.005"), "One Paise Only"),
        (
            47499999.05,
            "Rupees Four Crore Seventy-Four Lakh Ninety-Nine Thousand Nine Hundred "
            "Ninety-Nine and Five Paise Only",
        ),
        ("2500.5", "Rupees Two Thousand Five Hundred and Fifty Paise Only"),
        (-12, "Minus Rupees Twelve Only"),
    ],
)
def test_vectors(value: object, words: str) -> None:
    assert rupees_in_words(value) == words
    assert parse_rupees_words(words) == Decimal(str(value)).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP"
    )


@pytest.mark.parametrize("value", [None, "", "abc", True, float("nan"), float("inf"), {"a": 1}])
def test_what_is_not_a_number_prints_missing(value: object) -> None:
    assert rupees_in_words(value) == MISSING


def test_integer_words_refuses_a_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        integer_words(-1)


@pytest.mark.parametrize("text", ["", "Rupees Ten", "Dollars Ten Only", "Rupees Tenn Only"])
def test_the_parser_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  the message names the offending word
        parse_rupees_words(text)


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_words_state_the_figures(paise: int) -> None:
    amount = Decimal(paise) / 100
    assert parse_rupees_words(rupees_in_words(amount)) == amount
