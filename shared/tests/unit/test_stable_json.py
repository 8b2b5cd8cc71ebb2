"""Stable JSON / SHA-256 (domain.md §0.2, vector HASH-01)."""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.testing.data import hash01_bundle
from shared.stable_json import js_number_to_string, stable_dumps, stable_sha256

HASH_01_BUNDLE: dict[str, Any] = hash01_bundle()
HASH_01_STRING = (
    '{"contract_json":{"meta":{"report_type":"VALUATION","template_selector":"SBI_FORMAT_A"}},'
    '"derived_json":{"computed_values":{"FMV":1000000,"distress_value":800000,"realizable_value":950000}},'
    '"evidence_manifest":[],"readiness_json":{"completeness_score":100,"missing_evidence":[],'
    '"missing_fields":[],"warnings":[]},"snapshot_version":2,"work_order_id":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"}'
)
HASH_01_SHA = "4199866aaed34c4f31459091063f1203e80e49972c5a88b0d7cf15878f202e18"


class TestHash01:
    def test_stable_string_matches_vector(self) -> None:
        assert stable_dumps(HASH_01_BUNDLE) == HASH_01_STRING

    def test_byte_length_is_389(self) -> None:
        assert len(stable_dumps(HASH_01_BUNDLE).encode("utf-8")) == 389

    def test_sha256_matches_vector(self) -> None:
        assert stable_sha256(HASH_01_BUNDLE) == HASH_01_SHA

    def test_float_valued_bundle_hashes_identically(self) -> None:
        # Python arithmetic yields 1000000.0 where JavaScript had 1000000; the hash must not notice.
        bundle = json.loads(json.dumps(HASH_01_BUNDLE))
        bundle["derived_json"]["computed_values"] = {
            "FMV": 1e6,
            "realizable_value": 950000.0,
            "distress_value": 8e5,
        }
        assert stable_sha256(bundle) == HASH_01_SHA


class TestNumbers:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.00001, "0.00001"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e20, "100000000000000000000"),
            (1.2345678901234568e20, "123456789012345680000"),
            (-0.0, "0"),
            (0.0, "0"),
            (5000000.0, "5000000"),
            (15431.25, "15431.25"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123e-20, "1.23e-18"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ],
    )
    def test_ecmascript_number_to_string(self, value: float, expected: str) -> None:
        assert stable_dumps(value) == expected

    def test_ints_print_as_ints(self) -> None:
        assert stable_dumps([0, -7, 2**53]) == "[0,-7,9007199254740992]"

    def test_ints_beyond_double_precision_print_as_the_javascript_double(self) -> None:
        assert stable_dumps(2**60) == "1152921504606847000"
        assert stable_dumps(10**21) == "1e+21"

    def test_decimal_is_formatted_as_its_double(self) -> None:
        assert (
            stable_dumps({"amount": Decimal("100.10"), "whole": Decimal("5E+2")})
            == '{"amount":100.1,"whole":500}'
        )

    def test_booleans_are_not_numbers(self) -> None:
        assert stable_dumps([True, False, None]) == "[true,false,null]"

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity")])
    def test_non_finite_numbers_are_rejected(self, value: float | Decimal) -> None:
        with pytest.raises(ValueError, match="not valid"):
            stable_dumps({"x": [value]})

    def test_js_number_to_string_rejects_nan_directly(self) -> None:
        with pytest.raises(ValueError, match="not valid"):
            js_number_to_string(math.nan)

    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_float_round_trip(self, value: float) -> None:
        assert float(stable_dumps(value)) == value

    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_no_python_only_number_syntax(self, value: float) -> None:
        text = stable_dumps(value)
        assert not text.endswith(".0")
        assert "e-0" not in text
        assert "e+0" not in text
        assert "E" not in text


class TestKeysAndStrings:
    def test_keys_sorted_at_every_level_arrays_keep_order(self) -> None:
        assert stable_dumps({"b": [{"z": 1, "y": 2}, 3], "a": {}}) == '{"a":{},"b":[{"y":2,"z":1},3]}'

    def test_keys_sort_by_utf16_code_units(self) -> None:
        # U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF in UTF-16 but after it by code point.
        assert stable_dumps({"\uffff": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\uffff":1}'

    def test_array_index_keys_come_first_in_numeric_order(self) -> None:
        # JavaScript objects enumerate integer-like keys first, so the original emitted them that way.
        assert stable_dumps({"b": 1, "10": 2, "9": 3, "01": 4, "a": 5}) == '{"9":3,"10":2,"01":4,"a":5,"b":1}'

    def test_non_ascii_is_literal(self) -> None:
        assert stable_dumps({"name": "Bengaluru ₹ ಬೆಂಗಳೂರು 😀"}) == '{"name":"Bengaluru ₹ ಬೆಂಗಳೂರು 😀"}'

    def test_escapes_match_json_stringify(self) -> None:
        text = '"\\\b\f\n\r\t\x00\x1f\x7f\u2028\u2029'
        assert stable_dumps(text) == '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028\u2029"'

    def test_lone_surrogates_are_escaped_pairs_are_literal(self) -> None:
        assert stable_dumps("\ud800x\udfff") == '"\\ud800x\\udfff"'
        assert stable_dumps("\ud83d\ude00") == '"\U0001f600"'

    def test_hash_is_sha256_of_utf8(self) -> None:
        value = {"k": "é"}
        assert stable_sha256(value) == hashlib.sha256('{"k":"é"}'.encode()).hexdigest()

    def test_non_string_keys_are_rejected(self) -> None:
        with pytest.raises(TypeError, match="keys must be str"):
            stable_dumps({1: "x"})

    def test_unsupported_types_are_rejected(self) -> None:
        with pytest.raises(TypeError, match="not stable-JSON serialisable"):
            stable_dumps({"x": {1, 2}})

    def test_tuples_serialise_as_arrays(self) -> None:
        assert stable_dumps((1, "a")) == '[1,"a"]'


# --- differential check against the original algorithm running in Node.js (skipped without node) -------

_NODE = shutil.which("node")
_ORIGINAL_STABLE_STRINGIFY = """
const isRecord = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const normalize = (input) => Array.isArray(input) ? input.map(normalize)
  : !isRecord(input) ? input
  : Object.fromEntries(Object.keys(input).sort().map((k) => [k, normalize(input[k])]));
const values = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(values.map((v) => JSON.stringify(normalize(v)))));
"""


def _random_string(rng: random.Random) -> str:
    alphabet = [
        "a",
        "Z",
        "0",
        "9",
        "é",
        "₹",
        "\u2028",
        "\x00",
        "\x1f",
        '"',
        "\\",
        "\ud800",
        "\udc00",
        "😀",
        "\uffff",
    ]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**53), 2**53)
    if kind == 3:
        return rng.choice([rng.uniform(-1e6, 1e6), 10 ** rng.uniform(-12, 25), -(10 ** rng.uniform(-12, 25))])
    if kind == 4:
        return round(rng.uniform(0, 1e8), rng.randint(0, 4))
    if kind in (5, 6):
        return _random_string(rng)
    if kind == 7:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [_random_string(rng) for _ in range(rng.randint(0, 5))] + [
        str(rng.randint(0, 20)) for _ in range(2)
    ]
    return {key: _random_value(rng, depth + 1) for key in keys}


def test_matches_original_stable_stringify_in_node() -> None:
    # Node.js is part of the machine kind; the cross-check against real JavaScript must not vanish.
    assert _NODE is not None, "node (Node.js) is required for the JavaScript cross-check"
    rng = random.Random(20260225)  # noqa: S311  seeded test data, not cryptography
    values = [_random_value(rng) for _ in range(400)]
    payload = json.dumps(values)  # ensure_ascii keeps lone surrogates as \\udXXX escapes for JSON.parse
    completed = subprocess.run(  # noqa: S603  fixed argv: the node binary and our script
        [_NODE, "-e", _ORIGINAL_STABLE_STRINGIFY], input=payload, capture_output=True, text=True, check=True
    )
    expected = json.loads(completed.stdout)
    assert [stable_dumps(v) for v in values] == expected
