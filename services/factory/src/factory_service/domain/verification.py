"""Verification codes of report packs (issue 21 item 4): short, unguessable, typed back by a person.

A code is 12 symbols of Crockford's base32 (``0-9A-Z`` without ``I L O U``), 60 random bits from
``secrets``, printed in three groups (``7KQ2-M9XD-4RTB``). 60 bits make guessing hopeless behind the
gateway's per-IP rate limit (at 120 requests a minute a million live codes are found once in ~18 000
years), and nothing about the work order, tenant or bank can be read from the code. Reading it back is
forgiving the way Crockford's alphabet intends: case, hyphens and spaces do not matter, ``I``/``L`` read
as ``1`` and ``O`` as ``0``.
"""

from __future__ import annotations

import secrets
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH: Final = 12
GROUP: Final = 4
MAX_INPUT: Final = 32
_READ_AS: Final = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_verification_code() -> str:
    """A fresh code in its canonical form (12 symbols, no separators)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display_code(code: str) -> str:
    """The canonical code in groups of four, as printed on every page: ``7KQ2-M9XD-4RTB``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def canonical_code(text: str) -> str | None:
    """The canonical form of a code someone typed or scanned, or ``None`` when it cannot be one."""
    if len(text) > MAX_INPUT:
        return None
    cleaned = text.replace("-", "").replace(" ", "").upper().translate(_READ_AS)
    if len(cleaned) != LENGTH or any(symbol not in ALPHABET for symbol in cleaned):
        return None
    return cleaned


def verify_path(code: str) -> str:
    """The public route that answers for a code (through the gateway)."""
    return f"/v1/verify/{display_code(code)}"
