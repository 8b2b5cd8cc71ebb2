"""Failures of the payment rails and the provider webhooks (domain.md §7.8, §7.9, §9.4)."""

from __future__ import annotations

from billing_service.domain.errors import BillingError


class PaymentsWriteForbidden(
    BillingError, code="PAYMENTS_WRITE_FORBIDDEN", status=401, message="payments write permission required"
):
    """§9.4: the caller may not create payment orders (401, the original's status; domain.md §12 #21)."""


class PaymentAmountNotPositive(
    BillingError, code="PAYMENT_AMOUNT_NOT_POSITIVE", message="payment amount must be positive"
):
    """The amount in minor units is not > 0."""


class PaymentAmountOutOfRange(BillingError, code="PAYMENT_AMOUNT_OUT_OF_RANGE"):
    """The amount is below the provider's minimum or above what one checkout may ask for."""


class InvalidPaymentRequest(BillingError, code="INVALID_PAYMENT_REQUEST"):
    """The checkout body is inconsistent (unknown provider/purpose, an invoice payment without invoice)."""


class PaymentProviderNotConfigured(BillingError, code="PAYMENT_PROVIDER_NOT_CONFIGURED"):
    """The provider's API keys are not configured (and the dev bypass is off)."""


class PaymentOrderConflict(BillingError, code="IDEMPOTENCY_KEY_REUSED", status=409):
    """The (provider, idempotency_key) names an order made for another account, amount or purpose."""


class PaymentProviderError(BillingError, code="PAYMENT_PROVIDER_ERROR", status=502):
    """The provider refused the request or answered something we cannot read (normalized, seed 002)."""


class PaymentProviderUnavailable(BillingError, code="PAYMENT_PROVIDER_UNAVAILABLE", status=503):
    """The provider could not be reached in time; the order stays pending and a retry is safe."""


# --- webhooks (401: nothing is stored) ----------------------------------------------------------------


class WebhookRejected(BillingError, code="WEBHOOK_SIGNATURE_INVALID", status=401):
    """Base of every refused webhook delivery: 401 with a code, nothing stored."""


class WebhookSignatureInvalid(WebhookRejected, code="WEBHOOK_SIGNATURE_INVALID"):
    """The signature does not match the raw body (forged, altered, stale or unreadable)."""


class DevBypassDisabledInProd(WebhookRejected, code="PAYMENT_WEBHOOK_DEV_BYPASS_DISABLED_IN_PROD"):
    """The dev bypass is switched on outside the dev environment."""


class StripeSecretNotConfigured(WebhookRejected, code="STRIPE_WEBHOOK_SECRET_NOT_CONFIGURED"):
    """No Stripe webhook secret: nothing can be verified."""


class RazorpaySecretNotConfigured(WebhookRejected, code="RAZORPAY_WEBHOOK_SECRET_NOT_CONFIGURED"):
    """No Razorpay webhook secret: nothing can be verified."""


class MissingStripeSignature(WebhookRejected, code="MISSING_STRIPE_SIGNATURE"):
    """No ``stripe-signature`` header."""


class MissingRazorpaySignature(WebhookRejected, code="MISSING_RAZORPAY_SIGNATURE"):
    """No ``x-razorpay-signature`` header."""


class WebhookBodyTooLarge(BillingError, code="WEBHOOK_BODY_TOO_LARGE", status=413):
    """The delivery is larger than any provider event."""


class WebhookPayloadInvalid(BillingError, code="WEBHOOK_PAYLOAD_INVALID"):
    """A correctly signed body that is not a JSON object, or lacks the event id (decision 14)."""
