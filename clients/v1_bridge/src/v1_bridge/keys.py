"""External account keys and idempotency keys as V1 derives them (domain.md §8.1, §8.2; vectors M).

Pure functions, no I/O. A key names the V2 billing account an event or a hold is about:
``v1:<kind>:<id>``. V2 accepts the kinds ``partner``, ``client``, ``assignment`` and ``invoice``; a
``channel`` key can be built (the monitor does) but V2 refuses it for account creation and its status
lookups answer 404 (:func:`accepted_by_v2` tells).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

#: kinds V2's key validator accepts for ``v1:`` keys
V2_ACCEPTED_KINDS = frozenset({"partner", "client", "assignment", "invoice"})
#: V1 entity types that bill through the partner's account
PARTNER_TYPES = frozenset({"partner", "external_associate", "referral_channel"})
_IDENT = re.compile(r"[A-Za-z0-9_-]{1,128}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_KEY = re.compile(r"v1:(?P<kind>[a-z][a-z0-9_]{0,63}):(?P<ident>[A-Za-z0-9_-]{1,128})")
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CENT = Decimal("0.01")


class ParsedKey(NamedTuple):
    """``v1:<kind>:<ident>`` taken apart; a numeric ident is an ``int`` (``("partner", 77)``)."""

    kind: str
    ident: int | str


def _ident(entity_id: int | str) -> str:
    if isinstance(entity_id, bool):
        raise TypeError("an entity id is an int or a string, not a bool")
    text = str(entity_id).strip()
    if not _IDENT.fullmatch(text):
        raise ValueError(f"invalid entity id {entity_id!r}: 1-128 letters, digits, '_' or '-'")
    return text


def normalize_key(entity_type: str, entity_id: int | str) -> str:
    """The account key of a V1 entity (the monitor's normalisation, §8.1).

    partner / external_associate / referral_channel → ``v1:partner:``; channel → ``v1:channel:``;
    client, assignment, invoice → their own kind; anything else ``v1:<type>:<id>``. The type is
    trimmed and lower-cased; raises ``ValueError`` for an id or type a key cannot carry.
    """
    kind = entity_type.strip().lower()
    if not _KIND.fullmatch(kind):
        raise ValueError(f"invalid entity type {entity_type!r}")
    if kind in PARTNER_TYPES:
        kind = "partner"
    return f"v1:{kind}:{_ident(entity_id)}"


def parse_key(key: str) -> ParsedKey:
    """``v1:<kind>:<ident>`` → ``(kind, ident)`` (ident an ``int`` when all digits); ``ValueError`` else."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        raise ValueError(f"not a V1 account key: {key!r}")
    ident = match.group("ident")
    return ParsedKey(match.group("kind"), int(ident) if ident.isdigit() else ident)


def accepted_by_v2(key: str) -> bool:
    """Whether V2 knows accounts under this key (``v1:channel:`` and unknown kinds: no)."""
    try:
        return parse_key(key).kind in V2_ACCEPTED_KINDS
    except ValueError:
        return False


def invoice_account_key(
    *,
    invoice_id: int | str,
    partner_id: int | str | None = None,
    client_id: int | str | None = None,
    assignment_id: int | str | None = None,
) -> str:
    """Invoice events: partner, else client, else assignment, else the invoice itself (§8.1)."""
    if partner_id:
        return normalize_key("partner", partner_id)
    if client_id:
        return normalize_key("client", client_id)
    if assignment_id:
        return normalize_key("assignment", assignment_id)
    return normalize_key("invoice", invoice_id)


def commission_account_key(*, assignment_id: int | str, partner_id: int | str | None = None) -> str:
    """Commissions and assignments: the partner's key, else the assignment's (§8.1)."""
    if partner_id:
        return normalize_key("partner", partner_id)
    return normalize_key("assignment", assignment_id)


def _amount(value: Decimal | int | str) -> str:
    if isinstance(value, float | bool):
        raise TypeError("money is a Decimal, an int or a decimal string, never a float")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"invalid amount {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"invalid amount {value!r}")
    return str(amount.quantize(_CENT))


def invoice_event_key(
    event: str,
    *,
    invoice_id: int | str,
    payment_id: int | str | None,
    status: str,
    updated_at: datetime | str,
    amount_due: Decimal | int | str,
) -> str:
    """V1's idempotency key of an invoice lifecycle event (§8.2, vector V1-04)::

        v1:<event>:<invoice_id>:<payment_id or 0>:<first 16 hex of
            sha256("v1|<event>|<invoice_id>|<payment_id or 0>|<status>|<updated_at ISO>|<amount_due>")>

    ``status`` is the string V1 stores (e.g. ``PAID``); ``updated_at`` a datetime (ISO-formatted as
    Python does) or V1's stored ISO string; ``amount_due`` is written with two decimals.
    """
    if not _EVENT.fullmatch(event):
        raise ValueError(f"invalid event name {event!r}")
    invoice = _ident(invoice_id)
    payment = _ident(payment_id) if payment_id else "0"
    stamp = updated_at.isoformat() if isinstance(updated_at, datetime) else updated_at
    material = f"v1|{event}|{invoice}|{payment}|{status}|{stamp}|{_amount(amount_due)}"
    digest = hashlib.sha256(material.encode()).hexdigest()[:16]
    return f"v1:{event}:{invoice}:{payment}:{digest}"


# --- the keys of the commission / deliverable flow (§8.2) ---------------------------------------------


def work_accepted_key(commission_id: int | str) -> str:
    """``work_accepted`` of an approved commission."""
    return f"v1:work_accepted:commission:{_ident(commission_id)}"


def credit_reserve_key(commission_id: int | str) -> str:
    """The hold taken when a commission of a CREDIT account is approved."""
    return f"v1:credit_reserve:commission:{_ident(commission_id)}"


def commission_cancelled_key(commission_id: int | str) -> str:
    """``commission_cancelled`` (the commission went back to needs-info)."""
    return f"v1:commission_cancelled:{_ident(commission_id)}"


def credit_release_key(commission_id: int | str) -> str:
    """The release of a cancelled commission's hold."""
    return f"v1:credit_release:commission:{_ident(commission_id)}"


def deliverables_released_key(deliverable_id: int | str) -> str:
    """``deliverables_released`` of one deliverable."""
    return f"v1:deliverables_released:{_ident(deliverable_id)}"


def credit_consume_key(deliverable_id: int | str) -> str:
    """The consumption of a commission's hold when its deliverable is released."""
    return f"v1:credit_consume:deliverable:{_ident(deliverable_id)}"
