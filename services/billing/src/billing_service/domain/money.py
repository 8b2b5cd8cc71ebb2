"""Money as ``Decimal`` with two decimals and a currency; never ``float``.

Events carry integer minor units (paise) plus currency; the HTTP edge carries JSON numbers with at most
two decimals (architecture §3). Every currency we bill in has two minor digits (INR: 100 paise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from billing_service.domain.errors import InvalidAmount

DEFAULT_CURRENCY = "INR"
CENTS = Decimal("0.01")
_CURRENCY_RE = re.compile(r"^[A-Z]{3,8}$")
# The JSON number grammar (RFC 8259 §6); anything else in a string is not an amount.
_JSON_NUMBER_RE = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


def normalize_currency(currency: str) -> str:
    """Upper-case and validate a currency code (3..8 letters, as the original checkout accepted)."""
    code = currency.strip().upper()
    if not _CURRENCY_RE.match(code):
        raise InvalidAmount(f"invalid currency {currency!r}", {"currency": currency})
    return code


def _exact_cents(value: Decimal, original: object) -> Decimal:
    """``value`` at exactly two places, refusing anything that would need rounding."""
    if not value.is_finite():
        raise InvalidAmount("amount must be a finite number", {"amount": str(original)})
    try:
        quantized = value.quantize(CENTS)
    except InvalidOperation as exc:  # more digits than the decimal context holds
        raise InvalidAmount("amount is out of range", {"amount": str(original)}) from exc
    if quantized != value:
        raise InvalidAmount("amount must have at most 2 decimals", {"amount": str(original)})
    return quantized


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount with two decimals in one currency.

    The constructor refuses amounts with more than two decimals instead of rounding them: rounding is
    a business decision and must be asked for explicitly (``Money.rounded``, ``times``).
    """

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            # float is refused on purpose: its binary value is not the decimal the user meant.
            raise InvalidAmount("Money needs a Decimal amount", {"amount": repr(self.amount)})
        object.__setattr__(self, "amount", _exact_cents(self.amount, self.amount))
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        """0.00 in ``currency``."""
        return cls(Decimal("0.00"), currency)

    @classmethod
    def of(cls, value: str | int | Decimal, currency: str = DEFAULT_CURRENCY) -> Money:
        """Exact construction from a decimal string, an int or a Decimal (≤ 2 decimals)."""
        if isinstance(value, bool):
            raise InvalidAmount("amount must be a number", {"amount": repr(value)})
        try:
            dec = value if isinstance(value, Decimal) else Decimal(value)
        except InvalidOperation as exc:
            raise InvalidAmount("amount must be a number", {"amount": str(value)}) from exc
        return cls(dec, currency)

    @classmethod
    def rounded(cls, value: Decimal, currency: str = DEFAULT_CURRENCY) -> Money:
        """Round half away from zero to cents, as Postgres ``numeric(…, 2)`` stores a computed value."""
        if not value.is_finite():
            raise InvalidAmount("amount must be a finite number", {"amount": str(value)})
        try:
            quantized = value.quantize(CENTS, rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise InvalidAmount("amount is out of range", {"amount": str(value)}) from exc
        return cls(quantized, currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str = DEFAULT_CURRENCY) -> Money:
        """From integer minor units (paise), as carried in events."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise InvalidAmount("minor units must be an int", {"amount": repr(minor)})
        return cls(Decimal(minor).scaleb(-2), currency)

    def to_minor(self) -> int:
        """Integer minor units (paise); exact because the amount has two decimals."""
        return int(self.amount.scaleb(2))

    def to_json_text(self) -> str:
        """The amount as the shortest JSON number text (``100``, ``100.5``, ``0.01``)."""
        return format(self.amount.normalize(), "f") if self.amount != 0 else "0"

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise InvalidAmount("currency mismatch", {"left": self.currency, "right": other.currency})

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def times(self, factor: Decimal | int) -> Money:
        """Multiply and round half away from zero to cents."""
        if isinstance(factor, bool) or not isinstance(factor, Decimal | int):
            raise InvalidAmount("factor must be a Decimal or int", {"factor": repr(factor)})
        return Money.rounded(self.amount * factor, self.currency)

    def max_zero(self) -> Money:
        """``max(0, self)``."""
        return self if self.amount > 0 else Money.zero(self.currency)

    @property
    def is_zero(self) -> bool:
        """True for 0.00."""
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        """True for amounts > 0."""
        return self.amount > 0


def parse_json_amount(value: object, currency: str = DEFAULT_CURRENCY) -> Money:
    """Parse an HTTP JSON amount: a number with at most two decimals.

    Best practice is to decode request bodies with ``json.loads(..., parse_float=Decimal)`` so the
    JSON text reaches us untouched. When a decoder already produced a ``float`` we use ``repr``, the
    shortest text that round-trips to the same double; for every JSON number with up to 15 significant
    digits that is the number as written (``100.10`` → ``100.1``), so ``0.125`` is rejected rather than
    rounded and ``0.1`` is accepted as exactly ``0.10``. Strings must follow the JSON number grammar.
    Booleans, NaN and infinities are rejected.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAmount("amount must be a number", {"amount": repr(value)})
    if isinstance(value, Decimal | int):
        return Money.of(value, currency)
    if isinstance(value, float):
        text = repr(value)
        if not _JSON_NUMBER_RE.match(text):
            raise InvalidAmount("amount must be a finite number", {"amount": text})
        return Money.of(Decimal(text), currency)
    if isinstance(value, str):
        text = value.strip()
        if not _JSON_NUMBER_RE.match(text):
            raise InvalidAmount("amount must be a number", {"amount": value})
        return Money.of(Decimal(text), currency)
    raise InvalidAmount("amount must be a number", {"amount": repr(value)})
