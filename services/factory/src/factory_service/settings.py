"""Settings of the factory service."""

from shared.settings import ServiceSettings

SCHEMA = "factory"


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "factory"
