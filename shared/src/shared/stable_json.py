"""Stable JSON serialisation and hashing, byte-compatible with the original ``stableStringify`` (domain.md §0.2).

The original rebuilt every object with ``Object.fromEntries(Object.keys(o).sort()…)`` and serialised it with
``JSON.stringify``. Reproducing its bytes (and so its SHA-256, e.g. the export-bundle hash) needs JavaScript's
rules rather than Python's ``json`` module:

* numbers print as ECMAScript ``Number::toString`` (``1e-7`` not ``1e-07``, ``5000000`` not ``5000000.0``,
  ``1e+21``, ``123456789012345680000``); ``-0`` prints as ``0``; NaN/±Infinity are rejected (``ValueError``)
  instead of silently becoming ``null`` as in JavaScript;
* keys sort by UTF-16 code units (``Array.prototype.sort``), which differs from Python's code-point order for
  characters above U+FFFF; and, because JavaScript objects always enumerate array-index keys (``"0"``,
  ``"42"``, …) first in numeric order, such keys come first in the output, as they did in the original;
* strings escape exactly like ``JSON.stringify`` (well-formed variant): ``"`` ``\\`` and controls below U+0020
  are escaped, lone surrogates become ``\\udXXX``, everything else (U+2028, U+007F, non-ASCII) is literal.

Accepted inputs: ``None``, ``bool``, ``int``, ``float``, ``Decimal``, ``str``, mappings with ``str`` keys, and
lists/tuples. Integers above 2**53 and ``Decimal`` values are formatted as the double JavaScript would hold
after ``JSON.parse`` (the original only ever hashed doubles); anything else raises ``TypeError``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["js_number_to_string", "stable_dumps", "stable_sha256"]

_MAX_SAFE_INTEGER = 2**53
_MAX_ARRAY_INDEX = 2**32 - 2
_SHORT_ESCAPES = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
}


def stable_dumps(obj: object) -> str:
    """Serialise ``obj`` exactly as the original ``stableStringify`` did (compact, keys sorted, JS numbers)."""
    parts: list[str] = []
    _write(obj, parts)
    return "".join(parts)


def stable_sha256(obj: object) -> str:
    """Lower-case hex SHA-256 of the UTF-8 bytes of ``stable_dumps(obj)`` (the export-bundle hash)."""
    return hashlib.sha256(stable_dumps(obj).encode("utf-8")).hexdigest()


def js_number_to_string(value: float) -> str:
    """ECMAScript ``Number::toString(value)`` for a finite double (radix 10).

    Python's ``repr`` already yields the shortest round-tripping digits (the same digit string JavaScript
    picks); only the layout differs, so the digits and exponent are taken from ``repr`` and laid out per
    ECMA-262 §6.1.6.1.20.
    """
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not valid in stable JSON (JSON.stringify would turn it into null)")
    if value == 0:
        return "0"  # covers -0.0 as well
    if value < 0:
        return "-" + js_number_to_string(-value)
    digits, exponent = _shortest_digits(value)
    k = len(digits)
    n = exponent + k  # value = 0.digits × 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(e)}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """Digits (no leading/trailing zeros) and exponent such that value = int(digits) × 10^exponent."""
    _sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    if not isinstance(exponent, int):
        # 'n'/'N'/'F' for NaN and infinities, which JSON cannot carry
        raise ValueError(f"not a finite number: {value!r}")
    digits = "".join(str(d) for d in digit_tuple).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped, exponent


def _format_number(value: int | float | Decimal) -> str:
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(value)
        try:
            as_double = float(value)
        except OverflowError as exc:
            raise ValueError(f"integer {value} is outside the range of a JavaScript number") from exc
        return js_number_to_string(as_double)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} is not valid in stable JSON")
        return js_number_to_string(float(value))
    return js_number_to_string(value)


def _is_array_index(key: str) -> bool:
    # A canonical decimal integer string in 0..2^32-2 is an "array index" property key in JavaScript.
    if not key or not key.isascii() or not key.isdigit():
        return False
    if len(key) > 1 and key[0] == "0":
        return False
    return int(key) <= _MAX_ARRAY_INDEX


def _utf16_units(text: str) -> bytes:
    # Big-endian UTF-16 bytes compare in code-unit order; surrogatepass keeps lone surrogates sortable.
    return text.encode("utf-16-be", "surrogatepass")


def _ordered_keys(mapping: Mapping[object, object]) -> list[str]:
    keys: list[str] = []
    for key in mapping:
        if not isinstance(key, str):
            raise TypeError(f"stable JSON object keys must be str, got {type(key).__name__}")
        keys.append(key)
    index_keys = sorted((k for k in keys if _is_array_index(k)), key=int)
    other_keys = sorted((k for k in keys if not _is_array_index(k)), key=_utf16_units)
    return index_keys + other_keys


def _write(obj: object, parts: list[str]) -> None:
    if obj is None:
        parts.append("null")
    elif obj is True:
        parts.append("true")
    elif obj is False:
        parts.append("false")
    elif isinstance(obj, str):
        parts.append(_quote(obj))
    elif isinstance(obj, int | float | Decimal):
        parts.append(_format_number(obj))
    elif isinstance(obj, Mapping):
        parts.append("{")
        for position, key in enumerate(_ordered_keys(obj)):
            if position:
                parts.append(",")
            parts.append(_quote(key))
            parts.append(":")
            _write(obj[key], parts)
        parts.append("}")
    elif isinstance(obj, list | tuple):
        parts.append("[")
        for position, item in enumerate(obj):
            if position:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"object of type {type(obj).__name__} is not stable-JSON serialisable")


def _quote(text: str) -> str:
    """``JSON.stringify(text)`` over the string's UTF-16 code units (QuoteJSONString, ES2019+)."""
    raw = _utf16_units(text)
    units = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    out = ['"']
    i = 0
    count = len(units)
    while i < count:
        unit = units[i]
        if 0xD800 <= unit <= 0xDBFF and i + 1 < count and 0xDC00 <= units[i + 1] <= 0xDFFF:
            # A proper surrogate pair is one astral character, emitted literally.
            out.append(chr(0x10000 + ((unit - 0xD800) << 10) + (units[i + 1] - 0xDC00)))
            i += 2
            continue
        if unit in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[unit])
        elif unit < 0x20 or 0xD800 <= unit <= 0xDFFF:
            out.append(f"\\u{unit:04x}")
        else:
            out.append(chr(unit))
        i += 1
    out.append('"')
    return "".join(out)
