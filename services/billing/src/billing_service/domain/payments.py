"""Payment rails and provider events as pure rules (domain.md §7.8, §7.9, vectors K, decisions 14-16).

No I/O: minor units, top-up pricing, the success/cancel URLs, the mapping of a provider event to an order
status, the settlement ordering rule, Razorpay's HMAC and the subscription webhook's status change.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from billing_service.domain.payment_errors import PaymentAmountNotPositive

DEFAULT_CURRENCY = "INR"
DEFAULT_SUCCESS_URL = "https://app.local/payment-success"
DEFAULT_CANCEL_URL = "https://app.local/payment-cancelled"
DEFAULT_RAZORPAY_CHECKOUT_URL = "https://checkout.razorpay.com/v1/checkout.js"
TOPUP_REF_TYPE = "credit_topup"
INVOICE_REF_TYPE = "service_invoice"


class Provider(StrEnum):
    """The payment providers behind :class:`billing_service.payments.providers.PaymentProvider`."""

    STRIPE = "stripe"
    RAZORPAY = "razorpay"


class Purpose(StrEnum):
    """What a payment order pays for."""

    TOPUP = "topup"
    INVOICE = "invoice"


class OrderStatus(StrEnum):
    """§7.8 order statuses; ``paid`` is final (the settlement ordering rule)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.REQUIRES_ACTION)
#: the statuses an event moves an order to (decision 14 adds ``expired``, which the original computed only)
APPLIED_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
)


def minor_units(amount: Decimal) -> int:
    """``round(amount × 100)`` (half away from zero); ≤ 0 → 400 ``payment amount must be positive``."""
    minor = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if minor <= 0:
        raise PaymentAmountNotPositive(details={"amount": str(amount)})
    return minor


def topup_amount(credits: int, unit_price: Decimal) -> Decimal:
    """``round2(credits × CREDIT_TOPUP_UNIT_PRICE)``, a non-positive price counting as 1 (PAY-06)."""
    price = unit_price if unit_price > 0 else Decimal(1)
    return (Decimal(credits) * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def with_order_id(base: str, order_id: str) -> str:
    """``<base>?payment_order_id=<id>`` (``&`` when the base already has a query)."""
    return f"{base}{'&' if '?' in base else '?'}payment_order_id={order_id}"


def return_urls(success: str, cancel: str, web_app: str, order_id: str) -> tuple[str, str]:
    """The success and cancel URLs: the configured URL, else the web app's, else ``app.local`` (§7.8)."""
    base = web_app.rstrip("/")
    ok = success or (f"{base}/payment-success" if base else DEFAULT_SUCCESS_URL)
    ko = cancel or (f"{base}/payment-cancelled" if base else DEFAULT_CANCEL_URL)
    return with_order_id(ok, order_id), with_order_id(ko, order_id)


def stripe_status(event_type: str) -> OrderStatus:
    """PAY-03 (Stripe): ``completed``/``succeeded`` → paid, ``failed`` → failed, ``expired`` → expired."""
    t = event_type.lower()
    if "completed" in t or "succeeded" in t:
        return OrderStatus.PAID
    if "failed" in t:
        return OrderStatus.FAILED
    if "expired" in t:
        return OrderStatus.EXPIRED
    return OrderStatus.PENDING


def razorpay_status(event_type: str) -> OrderStatus:
    """PAY-03 (Razorpay): ``captured``/``authorized`` → paid, ``failed`` → failed, ``cancel`` → cancelled."""
    t = event_type.lower()
    if "captured" in t or "authorized" in t:
        return OrderStatus.PAID
    if "failed" in t:
        return OrderStatus.FAILED
    if "cancel" in t:
        return OrderStatus.CANCELLED
    return OrderStatus.PENDING


def next_status(current: OrderStatus, incoming: OrderStatus) -> OrderStatus | None:
    """The settlement ordering rule: the status an event moves the order to, ``None`` for no change.

    ``paid`` is final: nothing that arrives after it (a ``failed`` delivered late, a redelivery) undoes
    a settlement. Money that arrives after a ``failed``/``cancelled``/``expired`` still settles (the
    provider took it), so ``paid`` wins from every status. Non-applied statuses change nothing.
    """
    if incoming not in APPLIED_STATUSES or current is OrderStatus.PAID or incoming is current:
        return None
    return incoming


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """What one provider event says about one order (§7.9 parse)."""

    event_type: str
    status: OrderStatus
    provider_order_id: str | None
    provider_payment_id: str | None
    payment_order_id: str | None
    idempotency_key: str | None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_stripe(event_type: str, payload: dict[str, Any]) -> ProviderEvent:
    """Stripe: object = ``data.object``, metadata = ``object.metadata``; the payment id is the object's
    ``payment_intent``, or its id when that is a payment intent."""
    obj = _obj(_obj(payload.get("data")).get("object"))
    meta = _obj(obj.get("metadata"))
    object_id = _text(obj.get("id"))
    payment = _text(obj.get("payment_intent"))
    if payment is None and object_id is not None and object_id.startswith("pi_"):
        payment = object_id
    return ProviderEvent(
        event_type,
        stripe_status(event_type),
        object_id,
        payment,
        _text(meta.get("payment_order_id")),
        _text(meta.get("idempotency_key")),
    )


def parse_razorpay(event_type: str, payload: dict[str, Any]) -> ProviderEvent:
    """Razorpay: entity = ``payload.payment.entity`` (notes as Stripe's metadata)."""
    entity = _obj(_obj(_obj(payload.get("payload")).get("payment")).get("entity"))
    notes = _obj(entity.get("notes"))
    return ProviderEvent(
        event_type,
        razorpay_status(event_type),
        _text(entity.get("order_id")),
        _text(entity.get("id")),
        _text(notes.get("payment_order_id")),
        _text(notes.get("idempotency_key")),
    )


def payload_hash(body: bytes) -> str:
    """SHA-256 hex of the raw body."""
    return hashlib.sha256(body).hexdigest()


def hmac_hex(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256 (Razorpay's webhook signature over the raw body)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def razorpay_signature_ok(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison of ``x-razorpay-signature`` with the HMAC of the raw body."""
    return hmac.compare_digest(hmac_hex(secret, body).encode(), signature.strip().encode("utf-8", "replace"))


class SubscriptionChange(StrEnum):
    """SUB-06: what a subscription webhook does to its subscription."""

    CANCEL = "cancelled"
    PAST_DUE = "past_due"
    SUSPEND = "suspended"
    ACTIVATE = "active"
    NONE = "none"


def subscription_change(event_type: str) -> SubscriptionChange:
    """SUB-06: ``cancel`` → cancelled; ``past_due``/``payment_failed`` → past_due; ``suspend`` →
    suspended; ``resume``/``activated`` → active (+ last_payment_at); others → no change. Decision 16
    adds: any successful subscription payment (``paid``, ``charged``, ``succeeded``) → active + last_payment_at."""
    t = event_type.lower()
    if "cancel" in t:
        return SubscriptionChange.CANCEL
    if "past_due" in t or "payment_failed" in t:
        return SubscriptionChange.PAST_DUE
    if "suspend" in t:
        return SubscriptionChange.SUSPEND
    if any(word in t for word in ("resume", "activated", "paid", "charged", "succeeded")):
        return SubscriptionChange.ACTIVATE
    return SubscriptionChange.NONE
