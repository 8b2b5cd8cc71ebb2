"""Settings of the evidence service."""

from shared.settings import ServiceSettings

SCHEMA = "evidence"


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "evidence"
