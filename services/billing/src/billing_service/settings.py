"""Settings of the billing service."""

from decimal import Decimal

from pydantic import Field, SecretStr

from billing_service.domain.ledger import DEFAULT_RESERVATION_TIMEOUT_MINUTES
from shared.settings import ServiceSettings

SCHEMA = "billing"


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "billing"
    #: ``ZENOPS_SUBSCRIPTION_GRACE_DAYS`` (domain.md's ``BILLING_SUBSCRIPTION_GRACE_DAYS``): days a
    #: past-due subscription keeps before suspension
    subscription_grace_days: int = Field(default=7, ge=1, le=366)
    #: seconds between the stream process's scheduled refill passes (0 turns the scheduler off)
    subscription_refill_interval_s: float = Field(default=300.0, ge=0, le=86_400)

    # --- payment rails (issue 16, domain.md §7.8/§7.9): provider APIs, webhook secrets, the janitor ----
    #: provider API base URLs (the dev stack points both at its provider simulator)
    stripe_api_base: str = Field(default="https://api.stripe.com", max_length=500)
    razorpay_api_base: str = Field(default="https://api.razorpay.com", max_length=500)
    stripe_secret_key: SecretStr = SecretStr("")
    razorpay_key_id: str = Field(default="", max_length=200)
    razorpay_key_secret: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    razorpay_webhook_secret: SecretStr = SecretStr("")
    #: §7.9's ``PAYMENT_WEBHOOK_DEV_BYPASS``: honoured only in dev/test, refused (401) anywhere else
    payment_webhook_dev_bypass: bool = False
    payment_success_url: str = Field(default="", max_length=500)
    payment_cancel_url: str = Field(default="", max_length=500)
    web_app_base_url: str = Field(default="", max_length=500)
    razorpay_checkout_url: str = Field(default="", max_length=500)
    credit_topup_unit_price: Decimal = Field(default=Decimal(1), max_digits=12, decimal_places=2)
    #: bound of one provider API call
    payment_provider_timeout_s: float = Field(default=10.0, gt=0, le=120)
    #: the largest webhook body accepted (provider events are a few KiB)
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=1024 * 1024)
    #: the payment janitor: every ``interval`` seconds (0 = off) it asks the provider about orders still
    #: open ``pending_after_minutes`` after their last change, at most ``batch`` per pass
    payment_janitor_interval_s: float = Field(default=60.0, ge=0, le=86_400)
    payment_janitor_pending_after_minutes: float = Field(default=15.0, ge=0, le=10_080)
    payment_janitor_batch: int = Field(default=50, ge=1, le=500)
    #: seconds between the stream process's scheduled reconciliation sweeps (domain.md §7.4, decision 31;
    #: 0 turns them off)
    reconcile_sweep_interval_s: float = Field(default=300.0, ge=0, le=86_400)
    #: active holds one scheduled sweep examines (oldest first; the route's maximum)
    reconcile_sweep_limit: int = Field(default=500, ge=1, le=500)
    #: minutes after which a hold that is not a work order's expires (when it carries no ``expires_at``)
    reconcile_timeout_minutes: int = Field(default=DEFAULT_RESERVATION_TIMEOUT_MINUTES, ge=5, le=525_600)
