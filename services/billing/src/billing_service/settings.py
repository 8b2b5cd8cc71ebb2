"""Settings of the billing service."""

from shared.settings import ServiceSettings

SCHEMA = "billing"


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "billing"
