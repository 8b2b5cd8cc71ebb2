"""Input limits of shared.validation: storable strings, bounded integers, bounded free JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.errors import ValidationFailed
from shared.validation import (
    INT8_MAX,
    MAX_CREDIT_AMOUNT,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_NAME,
    MAX_TEXT,
    Code,
    CreditAmount,
    FreeJson,
    JsonObject,
    MonthlyAllowance,
    Name,
    PaymentTermsDays,
    SnapshotVersion,
    StorableStr,
    Text,
    check_json,
    parse_json_text,
    require_json,
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


class Strings(BaseModel):
    name: Name = "n"
    code: Code = "c"
    text: Text = "t"
    custom: StorableStr = Field(default="x", max_length=5)


class Numbers(BaseModel):
    amount: CreditAmount = 1
    terms: PaymentTermsDays = 15
    allowance: MonthlyAllowance = 0
    snapshot: SnapshotVersion = 1


class Jsonish(BaseModel):
    obj: JsonObject = Field(default_factory=dict)
    anything: FreeJson = None


def _types(exc: ValidationError) -> set[str]:
    return {err["type"] for err in exc.errors()}


@pytest.mark.parametrize("field", ["name", "code", "text", "custom"])
def test_nul_is_refused_in_every_string_kind(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Strings.model_validate({field: "a\x00b"})
    assert _types(info.value) == {"string_nul"}


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValidationError):
        Strings.model_validate({"name": "a\ud800"})
    with pytest.raises(ValidationError) as info:
        Jsonish.model_validate({"obj": {"k": ["ok", "bad\udc00"]}})
    assert _types(info.value) == {"string_surrogate"}


def test_lengths_by_meaning() -> None:
    Strings.model_validate({"name": "n" * MAX_NAME, "text": "t" * MAX_TEXT, "custom": "12345"})
    for field, size in (("name", MAX_NAME + 1), ("code", 65), ("text", MAX_TEXT + 1), ("custom", 6)):
        with pytest.raises(ValidationError) as info:
            Strings.model_validate({field: "x" * size})
        assert _types(info.value) == {"string_too_long"}


def test_a_multi_megabyte_string_is_refused_by_length() -> None:
    with pytest.raises(ValidationError) as info:
        Strings.model_validate({"name": "x" * 5_000_000})
    assert _types(info.value) == {"string_too_long"}


def test_unicode_text_within_limits_is_kept() -> None:
    body = Strings.model_validate({"name": "Bank of Baroda — शाखा 🏦", "text": "line\nnext\ttab"})
    assert body.name == "Bank of Baroda — शाखा 🏦"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", INT8_MAX),
        ("amount", MAX_CREDIT_AMOUNT + 1),
        ("amount", 2**64),
        ("terms", 2**31),
        ("terms", 366),
        ("allowance", 2**31),
        ("allowance", -1),
        ("snapshot", 2**31),
        ("snapshot", 0),
    ],
)
def test_integers_are_bounded(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        Numbers.model_validate({field: value})


def test_integers_within_bounds_pass_and_non_positive_amounts_reach_the_domain() -> None:
    body = Numbers.model_validate({"amount": MAX_CREDIT_AMOUNT, "terms": 365, "snapshot": 2**31 - 1})
    assert body.amount == MAX_CREDIT_AMOUNT
    # zero and small negatives keep the domain's own codes (AMOUNT_NOT_POSITIVE, INVALID_PAYMENT_TERMS)
    assert Numbers.model_validate({"amount": 0, "terms": -1}).terms == -1


def test_openapi_shows_the_limits() -> None:
    schema = json.dumps(Strings.model_json_schema()) + json.dumps(Numbers.model_json_schema())
    assert '"maxLength": 200' in schema
    assert '"maxLength": 10000' in schema
    assert '"maximum": 1000000' in schema
    assert "x-zenops-storable" in schema
    assert "x-zenops-max-depth" in json.dumps(Jsonish.model_json_schema())


def test_json_depth_is_limited_without_recursion() -> None:
    check_json(_nested(MAX_JSON_DEPTH))
    with pytest.raises(ValidationError) as info:
        Jsonish.model_validate({"obj": _nested(MAX_JSON_DEPTH + 1)})
    assert _types(info.value) == {"json_too_deep"}
    # far deeper than the interpreter's recursion limit: still a clean refusal
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    with pytest.raises(ValidationFailed) as failed:
        require_json(deep, path="capture")
    assert failed.value.code == "VALIDATION_FAILED"
    assert failed.value.details["issues"][0]["path"] == "capture"


def test_json_size_nul_and_non_finite_numbers() -> None:
    with pytest.raises(ValidationError) as info:
        Jsonish.model_validate({"obj": {"k": "x" * MAX_JSON_BYTES}})
    assert _types(info.value) == {"json_too_large"}
    with pytest.raises(ValidationError) as info:
        Jsonish.model_validate({"anything": {"k\x00": 1}})
    assert _types(info.value) == {"string_nul"}
    with pytest.raises(ValidationError) as info:
        Jsonish.model_validate({"anything": [1.0, float("nan")]})
    assert _types(info.value) == {"json_number"}
    ok = Jsonish.model_validate({"obj": {"a": [1, 2.5, True, None, "s"]}, "anything": "plain"})
    assert ok.obj == {"a": [1, 2.5, True, None, "s"]}


def test_parse_json_text_answers_400_for_every_bad_input() -> None:
    assert parse_json_text('{"gps": {"lat": 12.9}}') == {"gps": {"lat": 12.9}}
    bad = [
        "{not json",
        "[" * 5000 + "]" * 5000,  # json.loads itself raises RecursionError here
        '{"a": "\\u0000"}',
        '{"a": NaN}',
        '"' + "x" * (MAX_JSON_BYTES + 1) + '"',
        "1" * 5000,  # beyond Python's integer digit limit
    ]
    for raw in bad:
        with pytest.raises(ValidationFailed) as info:
            parse_json_text(raw, path="capture")
        assert info.value.status == 400
        assert info.value.body()["details"]["issues"][0]["path"] == "capture"
