"""Settings of the billing service."""

from pydantic import Field

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
    #: seconds between the stream process's scheduled reconciliation sweeps (domain.md §7.4, decision 31;
    #: 0 turns them off)
    reconcile_sweep_interval_s: float = Field(default=300.0, ge=0, le=86_400)
    #: active holds one scheduled sweep examines (oldest first; the route's maximum)
    reconcile_sweep_limit: int = Field(default=500, ge=1, le=500)
    #: minutes after which a hold that is not a work order's expires (when it carries no ``expires_at``)
    reconcile_timeout_minutes: int = Field(default=DEFAULT_RESERVATION_TIMEOUT_MINUTES, ge=5, le=525_600)
