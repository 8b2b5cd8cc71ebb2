"""Settings of the billing service."""

from pydantic import Field

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
