"""Webhook verification over the RAW request body (decision 15), one intake for every provider.

Stripe: the ``stripe`` SDK's ``Webhook.construct_event`` (``stripe-signature: t=…,v1=…``, HMAC-SHA256 of
``<t>.<raw body>``, 300 s tolerance): forged, altered and stale deliveries fail alike. Razorpay: hex
HMAC-SHA256 of the raw body in ``x-razorpay-signature``, compared in constant time; the event id is the
``x-razorpay-event-id`` header (decision 14). Every refusal is a 401 with a code and nothing is stored.
§7.9's dev bypass (no verification) exists only in dev/test; anywhere else it is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from billing_service.domain.payment_errors import (
    DevBypassDisabledInProd,
    MissingRazorpaySignature,
    MissingStripeSignature,
    RazorpaySecretNotConfigured,
    StripeSecretNotConfigured,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from billing_service.domain.payments import Provider, payload_hash, razorpay_signature_ok

STRIPE_TOLERANCE_S = 300
STRIPE_SIGNATURE_HEADER = "stripe-signature"
RAZORPAY_SIGNATURE_HEADER = "x-razorpay-signature"
RAZORPAY_EVENT_ID_HEADER = "x-razorpay-event-id"
MAX_EVENT_ID = 255
MAX_EVENT_TYPE = 200


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The secrets and the bypass switch (``is_dev``: the environment is dev/test)."""

    stripe_secret: str
    razorpay_secret: str
    dev_bypass: bool
    is_dev: bool


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """A delivery whose signature held: its event id and type and the parsed body."""

    provider: Provider
    event_id: str
    event_type: str
    payload: dict[str, Any]
    payload_hash: str
    signature_ok: bool = True


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookPayloadInvalid("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadInvalid("webhook body is not a JSON object")
    return payload


def _bounded(value: object, limit: int, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise WebhookPayloadInvalid(f"webhook {what} is missing", {"field": what})
    if len(value) > limit:
        raise WebhookPayloadInvalid(f"webhook {what} is too long", {"field": what, "max_length": limit})
    return value


def _dev_delivery(provider: Provider, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
    payload = _json_object(body)
    stamp = _base36(int(time.time() * 1000))
    if provider is Provider.STRIPE:
        event_id = payload.get("id") or f"stripe-dev-{stamp}"
        event_type = payload.get("type") or "dev.event"
    else:
        event_id = headers.get(RAZORPAY_EVENT_ID_HEADER) or payload.get("event_id") or f"razorpay-dev-{stamp}"
        event_type = payload.get("event") or "dev.event"
    return VerifiedDelivery(
        provider,
        _bounded(event_id, MAX_EVENT_ID, "event id"),
        _bounded(event_type, MAX_EVENT_TYPE, "event type"),
        payload,
        payload_hash(body),
        signature_ok=True,
    )


def verify_stripe(body: bytes, signature: str | None, secret: str) -> VerifiedDelivery:
    """Stripe through its SDK (signature, 300 s tolerance), then the event's id and type."""
    if not secret:
        raise StripeSecretNotConfigured()
    if not signature:
        raise MissingStripeSignature()
    # the Stripe SDK (with requests, ~10 MB) only where a Stripe delivery is verified
    import stripe

    try:
        stripe.Webhook.construct_event(body, signature, secret, tolerance=STRIPE_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        reason = "stale" if "tolerance" in str(exc).lower() else "mismatch"
        raise WebhookSignatureInvalid(details={"provider": "stripe", "reason": reason}) from None
    except UnicodeDecodeError:
        raise WebhookSignatureInvalid(details={"provider": "stripe", "reason": "not utf-8"}) from None
    except (ValueError, TypeError, AttributeError, KeyError):
        raise WebhookPayloadInvalid("webhook body is not a Stripe event") from None
    # the verified body is the event: its id and type as Stripe wrote them
    payload = _json_object(body)
    return VerifiedDelivery(
        Provider.STRIPE,
        _bounded(payload.get("id"), MAX_EVENT_ID, "event id"),
        _bounded(payload.get("type"), MAX_EVENT_TYPE, "event type"),
        payload,
        payload_hash(body),
    )


def verify_razorpay(
    body: bytes, signature: str | None, event_id: str | None, secret: str
) -> VerifiedDelivery:
    """Razorpay: constant-time HMAC of the raw body; event id from ``x-razorpay-event-id``."""
    if not secret:
        raise RazorpaySecretNotConfigured()
    if not signature:
        raise MissingRazorpaySignature()
    if not razorpay_signature_ok(secret, body, signature):
        raise WebhookSignatureInvalid(details={"provider": "razorpay", "reason": "mismatch"})
    payload = _json_object(body)
    return VerifiedDelivery(
        Provider.RAZORPAY,
        _bounded(event_id, MAX_EVENT_ID, "event id (x-razorpay-event-id)"),
        _bounded(payload.get("event"), MAX_EVENT_TYPE, "event type"),
        payload,
        payload_hash(body),
    )


def verify(
    provider: Provider, body: bytes, headers: Mapping[str, str], config: WebhookConfig
) -> VerifiedDelivery:
    """The delivery's event if its signature holds (or the dev bypass is on in dev); else a 401."""
    if config.dev_bypass:
        if not config.is_dev:
            raise DevBypassDisabledInProd()
        return _dev_delivery(provider, body, headers)
    if provider is Provider.STRIPE:
        return verify_stripe(body, headers.get(STRIPE_SIGNATURE_HEADER), config.stripe_secret)
    return verify_razorpay(
        body,
        headers.get(RAZORPAY_SIGNATURE_HEADER),
        headers.get(RAZORPAY_EVENT_ID_HEADER),
        config.razorpay_secret,
    )


def external_subscription_id(provider: Provider, payload: Mapping[str, Any]) -> str | None:
    """§7.9 B: Stripe ``data.object.subscription`` (or the object's id when it is a ``sub_``);
    Razorpay ``payload.subscription.entity.id``."""

    def obj(value: Any) -> Mapping[str, Any]:
        return value if isinstance(value, dict) else {}

    if provider is Provider.STRIPE:
        o = obj(obj(payload.get("data")).get("object"))
        sub = o.get("subscription")
        if isinstance(sub, str) and sub:
            return sub[:MAX_EVENT_ID]
        oid = o.get("id")
        return oid[:MAX_EVENT_ID] if isinstance(oid, str) and oid.startswith("sub_") else None
    ent = obj(obj(obj(payload.get("payload")).get("subscription")).get("entity"))
    sid = ent.get("id")
    return sid[:MAX_EVENT_ID] if isinstance(sid, str) and sid else None
