"""Money as people in India read it: Indian digit grouping (lakh, crore) with two decimals."""

from __future__ import annotations

from decimal import Decimal

from billing_service.domain.money import CENTS

RUPEE = "₹"


def indian_grouping(digits: str) -> str:
    """``"123456"`` → ``"1,23,456"``: the last three digits, then groups of two."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


def format_amount(amount: Decimal, symbol: str = RUPEE) -> str:
    """``Decimal("123456")`` → ``"₹1,23,456.00"``; negatives as ``"-₹500.00"`` (exact, never float)."""
    quantized = amount.quantize(CENTS)
    sign = "-" if quantized < 0 else ""
    whole, _, fraction = f"{abs(quantized):f}".partition(".")
    return f"{sign}{symbol}{indian_grouping(whole)}.{fraction or '00'}"


def format_quantity(value: Decimal) -> str:
    """A quantity or a tax rate as written: trailing zeros dropped (``2.50`` → ``2.5``, ``18.0000`` → ``18``)."""
    return f"{value.normalize():f}"
