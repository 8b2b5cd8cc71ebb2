"""Settings of the factory service."""

from shared.settings import ServiceSettings

SCHEMA = "factory"


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "factory"
    # Generation worker: attempts per job (the original queue used 5) and the exponential backoff
    # between attempts (base * 2^(n-1), capped). Attempts are counted even when they fail (decision 23).
    generation_max_attempts: int = 5
    generation_backoff_base_s: float = 0.5
    generation_backoff_max_s: float = 30.0
