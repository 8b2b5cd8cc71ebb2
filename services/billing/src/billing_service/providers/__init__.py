"""Payment provider adapters behind one interface (:class:`PaymentProvider`) and the registry the
payment use cases read them from."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from billing_service.domain.payment_errors import PaymentProviderNotConfigured
from billing_service.domain.payments import Provider
from billing_service.providers.base import (
    CheckoutHandle,
    CheckoutRequest,
    CustomerRequest,
    PaymentProvider,
    RemoteOrder,
)
from billing_service.providers.razorpay import RazorpayAdapter
from billing_service.providers.stripe import StripeAdapter
from billing_service.settings import Settings


class Providers:
    """The configured adapters by provider; asking for one that has no keys → 400."""

    def __init__(self, adapters: Mapping[Provider, PaymentProvider]) -> None:
        self._adapters = dict(adapters)

    def get(self, provider: Provider) -> PaymentProvider:
        """The adapter (400 ``PAYMENT_PROVIDER_NOT_CONFIGURED`` without keys)."""
        adapter = self._adapters.get(provider)
        if adapter is None:
            raise PaymentProviderNotConfigured(
                f"{provider.value} is not configured", {"provider": provider.value}
            )
        return adapter

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> Providers:
        """Adapters for the providers whose keys are set."""
        adapters: dict[Provider, PaymentProvider] = {}
        stripe_key = settings.stripe_secret_key.get_secret_value()
        if stripe_key:
            adapters[Provider.STRIPE] = StripeAdapter(client, settings.stripe_api_base, stripe_key)
        rzp_secret = settings.razorpay_key_secret.get_secret_value()
        if settings.razorpay_key_id and rzp_secret:
            adapters[Provider.RAZORPAY] = RazorpayAdapter(
                client, settings.razorpay_api_base, settings.razorpay_key_id, rzp_secret
            )
        return cls(adapters)


__all__ = [
    "CheckoutHandle",
    "CheckoutRequest",
    "CustomerRequest",
    "PaymentProvider",
    "Providers",
    "RazorpayAdapter",
    "RemoteOrder",
    "StripeAdapter",
]
