"""Exact, locale-free formatting of bundle values for reports (Indian digit grouping).

Bundle numbers arrive as JSON numbers (``int``/``float``) or ``Decimal``. A float is read through its
shortest round-trip text (``repr``), which is the text the original JavaScript printed into the
bundle, so ``47499999.05`` stays ``47499999.05`` and is never widened to its binary expansion.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

MISSING: Final = "—"
_CENT: Final = Decimal("0.01")


def to_decimal(value: object) -> Decimal | None:
    """The exact decimal a bundle value stands for, or ``None`` for anything that is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and value.strip():
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def _group_indian(digits: str) -> str:
    # Indian grouping: the last three digits, then pairs (12,34,56,789).
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


def format_indian(value: object, places: int = 2) -> str | None:
    """``value`` rounded half-up to ``places`` decimals with Indian grouping, e.g. ``50,00,000.00``."""
    number = to_decimal(value)
    if number is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):f}"
    whole, _, fraction = text.partition(".")
    return f"{sign}{_group_indian(whole)}" + (f".{fraction}" if places > 0 else "")


def format_inr(value: object) -> str:
    """Rupees as ``₹ 50,00,000.00``; ``—`` when the value is absent or not a number."""
    text = format_indian(value, 2)
    if text is None:
        return MISSING
    if text.startswith("-"):
        return f"-₹ {text[1:]}"
    return f"₹ {text}"


def format_quantity(value: object, unit: str) -> str:
    """A measured quantity with its unit, e.g. ``92.90 sqm``; ``—`` when absent."""
    text = format_indian(value, 2)
    return MISSING if text is None else f"{text} {unit}"


def format_rate_per_sqm(value: object) -> str:
    """A currency rate per square metre: ``₹ 16,145.85 / sqm``."""
    amount = format_inr(value)
    return amount if amount == MISSING else f"{amount} / sqm"
