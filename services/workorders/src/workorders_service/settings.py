"""Settings of the workorders service."""

from shared.settings import ServiceSettings

SCHEMA = "workorders"


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "workorders"
