"""Rupee amounts in words, Indian numbering system (issue 21 item 3).

One style, the one Indian bank valuation reports and cheques use (docs/decisions.md, issue 21):

* ``Rupees <rupees in words>[ and <paise in words> Paise] Only`` — e.g. ``Rupees Thirty-Five Lakh and
  Fifty Paise Only``; the word "Rupees" also for one rupee, "Only" to close the amount;
* no rupees but some paise: ``<paise in words> Paise Only``; nothing at all: ``Rupees Zero Only``;
* Indian scales: Thousand (10^3), Lakh (10^5), Crore (10^7), singular as in Indian English ("Two
  Lakh", never "Lakhs"); a crore count above 99 is itself read in the same system, so 10^15 (the
  largest amount a contract accepts, ``MAX_CONTRACT_NUMBER``) is ``Ten Crore Crore``;
* compound tens with a hyphen (Thirty-Five), "Hundred" without "and" (One Hundred Five);
* the amount is rounded half-up to paise first, exactly (``Decimal``), as the figures are.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from factory_service.rendering.formatting import MISSING, to_decimal

_ONES: Final = (
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
)
_TENS: Final = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
_CENT: Final = Decimal("0.01")
CRORE: Final = 10**7
LAKH: Final = 10**5


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]}-{_ONES[ones]}"


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [f"{_ONES[hundreds]} Hundred"] if hundreds else []
    if rest:
        words.append(_below_hundred(rest))
    return words


def integer_words(n: int) -> str:
    """A non-negative integer in words, Indian system (``0`` → ``Zero``)."""
    if n < 0:
        raise ValueError("integer_words takes a non-negative integer")
    if n == 0:
        return "Zero"
    words: list[str] = []
    crores, n = divmod(n, CRORE)
    if crores:
        words += [integer_words(crores), "Crore"]
    lakhs, n = divmod(n, LAKH)
    if lakhs:
        words += [_below_hundred(lakhs), "Lakh"]
    thousands, n = divmod(n, 1000)
    if thousands:
        words += [_below_hundred(thousands), "Thousand"]
    words += _below_thousand(n)
    return " ".join(words)


def rupees_in_words(value: object) -> str:
    """``value`` (rupees; int, float, ``Decimal`` or numeric text) in words, e.g. ``3500000.50`` →
    ``Rupees Thirty-Five Lakh and Fifty Paise Only``; ``—`` when it is absent or not a number.

    A negative amount is prefixed ``Minus`` (reports print none; the function stays total).
    """
    number = to_decimal(value)
    if number is None:
        return MISSING
    rounded = number.quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "Minus " if rounded < 0 else ""
    paise_total = int(abs(rounded) * 100)
    rupees, paise = divmod(paise_total, 100)
    if rupees == 0 and paise:
        return f"{sign}{_below_hundred(paise)} Paise Only"
    text = f"{sign}Rupees {integer_words(rupees)}"
    if paise:
        text += f" and {_below_hundred(paise)} Paise"
    return f"{text} Only"


_WORD_VALUES: Final = {word: value for value, word in enumerate(_ONES)} | {
    word: 10 * value for value, word in enumerate(_TENS) if word
}
_SCALES: Final = {"Thousand": 1000, "Lakh": LAKH, "Crore": CRORE}


def _parse_integer(words: list[str]) -> int:
    # The inverse of integer_words: the largest scale splits the words into (count) scale (rest).
    if not words:
        return 0
    for scale in ("Crore", "Lakh", "Thousand"):
        if scale in words:
            cut = len(words) - 1 - words[::-1].index(scale) if scale == "Crore" else words.index(scale)
            return _parse_integer(words[:cut]) * _SCALES[scale] + _parse_integer(words[cut + 1 :])
    if "Hundred" in words:
        cut = words.index("Hundred")
        return _parse_integer(words[:cut]) * 100 + _parse_integer(words[cut + 1 :])
    total = 0
    for word in words:
        for part in word.split("-"):
            if part not in _WORD_VALUES:
                raise ValueError(f"not a number word: {part!r}")
            total += _WORD_VALUES[part]
    return total


def parse_rupees_words(text: str) -> Decimal:
    """The amount :func:`rupees_in_words` wrote (its inverse), so a reader of a report can check that
    the words state the figures; ``ValueError`` for any other text."""
    words = text.split()
    if not words or words[-1] != "Only":
        raise ValueError("amount in words must end with 'Only'")
    words = words[:-1]
    sign = 1
    if words and words[0] == "Minus":
        sign, words = -1, words[1:]
    paise = 0
    if words and words[-1] == "Paise":
        cut = words.index("and") if "and" in words else 0
        paise = _parse_integer(words[cut + 1 if "and" in words else 0 : -1])
        words = words[:cut]
    rupees = 0
    if words:
        if words[0] != "Rupees":
            raise ValueError("amount in words must start with 'Rupees'")
        rupees = _parse_integer(words[1:])
    return sign * (Decimal(rupees) + Decimal(paise) / 100)
