"""Numeric helpers that reproduce the original JavaScript arithmetic bit for bit (domain.md §0.1).

The original system ran on IEEE-754 doubles with ``Number.prototype.toFixed``, ``Math.round`` and
``Number(string)``; Python's ``round`` (banker's rounding) and ``float(str)`` (accepts ``"1_000"``,
``"nan"``, ``"inf"``) differ from them, so every rule that must agree with the original's numbers goes
through these helpers.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

__all__ = [
    "JS_WHITESPACE",
    "has_text",
    "is_js_number",
    "js_round",
    "js_string_to_number",
    "js_trim",
    "normalize_json_numbers",
    "round2",
    "round_up_to_step",
    "to_number",
]

# ECMAScript WhiteSpace + LineTerminator code points, i.e. what String.prototype.trim removes.
# Python's str.strip() differs: it also strips U+001C..U+001F and U+0085 and keeps U+FEFF.
JS_WHITESPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# toFixed only uses fixed notation below 1e21; above it returns ToString(x), which parses back to x.
_TO_FIXED_LIMIT = 1e21
_CENT = Decimal("0.01")
_MAX_SAFE_INTEGER = 2**53

_DECIMAL_LITERAL = re.compile(
    r"[+-]?(?:Infinity|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
)
_NON_DECIMAL_LITERAL = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_RADIX = {"x": 16, "o": 8, "b": 2}


def js_trim(value: str) -> str:
    """Return ``value`` with ECMAScript whitespace removed from both ends (``String.prototype.trim``)."""
    return value.strip(JS_WHITESPACE)


def has_text(value: object) -> bool:
    """True when ``value`` is a string with at least one non-whitespace character (JS ``hasText``)."""
    return isinstance(value, str) and js_trim(value) != ""


def is_js_number(value: object) -> bool:
    """True for values JavaScript would type as ``number``: ints and floats, but not booleans."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def round2(value: float) -> float:
    """JavaScript ``Number(value.toFixed(2))``.

    ``toFixed`` rounds the *exact* binary value of the double to two decimals with ties away from zero,
    so ``0.125`` gives ``0.13`` and ``1.005`` (really 1.00499999999999989…) gives ``1``. Non-finite values
    and magnitudes of 1e21 or more come back unchanged, as they do through ``toFixed`` and ``Number``.
    """
    number = float(value)
    if not math.isfinite(number) or abs(number) >= _TO_FIXED_LIMIT:
        return number
    with localcontext() as ctx:
        # 21 integer digits + 2 decimals exceed the default 28-digit context only by a safe margin; widen it
        # anyway so the quantize can never raise InvalidOperation.
        ctx.prec = 60
        rounded = Decimal(number).quantize(_CENT, rounding=ROUND_HALF_UP)
    # Like Number("-0.00"), a tiny negative value comes back as -0.0; JSON output prints it as 0.
    return float(rounded)


def js_round(value: float) -> int:
    """JavaScript ``Math.round``: nearest integer, exact halves towards +infinity (12.5 → 13, -12.5 → -12).

    Implemented on the exact fraction rather than as ``floor(x + 0.5)``: the two agree except where
    ``x + 0.5`` itself rounds (e.g. 0.49999999999999994), and there ``Math.round`` follows the exact value.
    """
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"cannot round non-finite number {number!r}")
    floor = math.floor(number)
    # number - floor is exact for doubles, so the comparison with 0.5 is exact too.
    return floor + 1 if number - floor >= 0.5 else floor


def round_up_to_step(value: float, step: float) -> float:
    """``ceil(value / step) * step``; non-finite or non-positive values give 0 (``roundUpToStep``)."""
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        return 0
    return math.ceil(number / step) * step


def js_string_to_number(text: str) -> float | None:
    """JavaScript ``Number(text)`` restricted to finite results; ``None`` where JS gives NaN or ±Infinity.

    Accepts what ``StringToNumber`` accepts: surrounding JS whitespace, decimal literals with optional sign
    and exponent (``"1e3"``, ``".5"``, ``"5."``), and unsigned ``0x``/``0o``/``0b`` literals. Unlike
    Python's ``float`` it rejects ``"1_000"``, ``"nan"`` and ``"inf"``. An all-whitespace string is 0 in
    JavaScript; callers that treat blanks as missing check for that first (see ``to_number``).
    """
    trimmed = js_trim(text)
    if trimmed == "":
        return 0.0
    if _DECIMAL_LITERAL.fullmatch(trimmed):
        number = float(trimmed.replace("Infinity", "inf"))
    elif _NON_DECIMAL_LITERAL.fullmatch(trimmed):
        try:
            number = float(int(trimmed[2:], _RADIX[trimmed[1].lower()]))
        except OverflowError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def to_number(value: object) -> float | None:
    """``toNumber`` / ``asNumber`` of the original: a finite number is returned as is; a non-blank string
    that JavaScript parses to a finite number gives that number; anything else (booleans included) is None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value if _int_is_finite_double(value) else None
    if isinstance(value, str) and js_trim(value) != "":
        return js_string_to_number(value)
    return None


def _int_is_finite_double(value: int) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def normalize_json_numbers(value: Any) -> Any:
    """Copy of a JSON-like value with integral floats turned into ints (and -0.0 into 0).

    JavaScript has one number type, so the original stored ``5000000`` where Python code computes
    ``5000000.0``; normalising keeps stored/emitted JSON identical to the original's. Floats beyond 2**53
    stay floats (they are not exact integers in JavaScript either).
    """
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
            return int(value)
        return value
    if isinstance(value, dict):
        return {key: normalize_json_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_json_numbers(item) for item in value]
    return value
