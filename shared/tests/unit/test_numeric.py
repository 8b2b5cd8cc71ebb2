"""Numeric helpers reproducing JavaScript arithmetic (domain.md §0.1)."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.numeric import (
    has_text,
    js_round,
    js_string_to_number,
    js_trim,
    normalize_json_numbers,
    round2,
    round_up_to_step,
    to_number,
)


class TestRound2:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.125, 0.13),  # exact binary tie: half-up (Python's round gives 0.12)
            (1.005, 1.0),  # binary value is 1.00499999999999989...
            (2.675, 2.67),  # binary value is 2.67499999999999982...
            (-0.125, -0.13),  # toFixed rounds the magnitude, so ties go away from zero
            (47499999.05, 47499999.05),
            (1000 / 10.7639, 92.9),
            (1500 * 10.7639, 16145.85),
            (12345 / 0.8, 15431.25),
            (5, 5),
        ],
    )
    def test_known_values(self, value: float, expected: float) -> None:
        assert round2(value) == expected

    def test_large_and_non_finite_values_pass_through(self) -> None:
        assert round2(1e21 + 0.0) == 1e21
        assert round2(1.5e300) == 1.5e300
        assert math.isnan(round2(math.nan))
        assert round2(math.inf) == math.inf

    @given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
    def test_matches_decimal_half_up_reference(self, value: float) -> None:
        reference = float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        assert round2(value) == reference

    @given(st.floats(min_value=0, max_value=1e15, allow_nan=False))
    def test_is_idempotent(self, value: float) -> None:
        once = round2(value)
        assert round2(once) == once


class TestJsRound:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(12.5, 13), (-12.5, -12), (12.49, 12), (0.49999999999999994, 0), (-0.5, 0), (2.5, 3), (100.0, 100)],
    )
    def test_known_values(self, value: float, expected: int) -> None:
        assert js_round(value) == expected

    def test_non_finite_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="non-finite"):
            js_round(math.inf)

    @given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
    def test_rounds_to_nearest_with_halves_up(self, value: float) -> None:
        rounded = js_round(value)
        exact_distance = Decimal(value) - rounded
        assert Decimal("-0.5") <= exact_distance < Decimal("0.5")


class TestRoundUpToStep:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(400, 500), (600, 1000), (1000, 1000), (0, 0), (-3, 0), (math.nan, 0), (math.inf, 0)],
    )
    def test_step_500(self, value: float, expected: float) -> None:
        assert round_up_to_step(value, 500) == expected


class TestToNumber:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (5, 5),
            (2.5, 2.5),
            ("12", 12.0),
            (" 12.5 ", 12.5),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("-7", -7.0),
            ("0x10", 16.0),
            ("0b101", 5.0),
            ("0o17", 15.0),
        ],
    )
    def test_numbers_and_numeric_strings(self, value: object, expected: float) -> None:
        assert to_number(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            None,
            True,
            False,
            "",
            "   ",
            "abc",
            "1_000",
            "nan",
            "inf",
            "Infinity",
            "-Infinity",
            "1e999",
            "-0x10",
            [],
            {},
        ],
    )
    def test_everything_else_is_none(self, value: object) -> None:
        assert to_number(value) is None

    def test_non_finite_numbers_are_none(self) -> None:
        assert to_number(math.nan) is None
        assert to_number(math.inf) is None
        assert to_number(10**400) is None

    def test_blank_string_is_zero_for_raw_number_conversion(self) -> None:
        assert js_string_to_number(" ") == 0.0


class TestText:
    def test_js_trim_uses_ecmascript_whitespace(self) -> None:
        assert js_trim("\ufeff x \u3000") == "x"
        assert js_trim("\x1cx") == "\x1cx"  # Python's strip() would remove U+001C

    def test_has_text(self) -> None:
        assert has_text(" a ")
        assert not has_text(" \n\t")
        assert not has_text(5)


def test_normalize_json_numbers_turns_integral_floats_into_ints() -> None:
    value = {"a": [5000000.0, 2.5, -0.0, True], "b": {"c": 1e300}}
    normalized = normalize_json_numbers(value)
    assert normalized == {"a": [5000000, 2.5, 0, True], "b": {"c": 1e300}}
    assert type(normalized["a"][0]) is int
    assert type(normalized["b"]["c"]) is float


# --- differential check against JavaScript in Node.js (skipped without node) ---------------------------

_NODE = shutil.which("node")
_JS = """
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const toNumber = (v) => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim()) { const p = Number(v); return Number.isFinite(p) ? p : null; }
  return null;
};
process.stdout.write(JSON.stringify({
  round2: input.floats.map((x) => Number(x.toFixed(2))),
  mathRound: input.floats.map((x) => Math.round(x)),
  toNumber: input.strings.map(toNumber),
}));
"""


def test_matches_javascript_in_node() -> None:
    # Node.js is part of the machine kind; the cross-check against real JavaScript must not vanish.
    assert _NODE is not None, "node (Node.js) is required for the JavaScript cross-check"
    rng = random.Random(5)  # noqa: S311  seeded test data, not cryptography
    floats = [rng.uniform(-1e7, 1e7) for _ in range(300)]
    floats += [round(rng.uniform(0, 1e6), 3) for _ in range(300)]
    floats += [k / 1000 for k in range(-2000, 2000, 5)] + [k + 0.5 for k in range(-20, 20)]
    strings = [
        "1",
        " 2 ",
        "0x1f",
        "0B11",
        "1e5",
        "-1.5e-3",
        ".",
        "+.5",
        "5.",
        "1_0",
        "Infinity",
        "",
        " ",
        "\ufeff7",
    ]
    strings += ["0o7", "00012", "-0", "1e", "e1", "\u00a08\u00a0", "12abc", "0X1G", "+0x1"]
    payload = json.dumps({"floats": floats, "strings": strings})
    completed = subprocess.run(  # noqa: S603  fixed argv: the node binary and our script
        [_NODE, "-e", _JS], input=payload, capture_output=True, text=True, check=True
    )
    expected = json.loads(completed.stdout)
    assert [round2(x) for x in floats] == expected["round2"]
    assert [js_round(x) for x in floats] == expected["mathRound"]
    assert [to_number(s) for s in strings] == expected["toNumber"]
