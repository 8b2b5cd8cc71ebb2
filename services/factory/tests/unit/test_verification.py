"""Verification codes (issue 21): entropy, canonical form, forgiving reading."""

from __future__ import annotations

import pytest

from factory_service.domain.verification import (
    ALPHABET,
    LENGTH,
    canonical_code,
    display_code,
    new_verification_code,
    verify_path,
)


def test_codes_are_12_crockford_symbols_and_do_not_repeat() -> None:
    codes = {new_verification_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == LENGTH and set(code) <= set(ALPHABET) for code in codes)
    assert len(ALPHABET) ** LENGTH == 2**60  # 60 bits of entropy


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("7KQ2-M9XD-4RTB", "7KQ2M9XD4RTB"),
        ("7kq2 m9xd 4rtb", "7KQ2M9XD4RTB"),
        ("IL0O-0000-0000", "110000000000"),
        ("7KQ2-M9XD-4RT", None),
        ("7KQ2-M9XD-4RTU", None),
        ("7KQ2-M9XD-4RT!", None),
        ("-" * 40, None),
    ],
)
def test_reading_a_code_back(typed: str, canonical: str | None) -> None:
    assert canonical_code(typed) == canonical


def test_display_and_path() -> None:
    assert display_code("7KQ2M9XD4RTB") == "7KQ2-M9XD-4RTB"
    assert verify_path("7KQ2M9XD4RTB") == "/v1/verify/7KQ2-M9XD-4RTB"
