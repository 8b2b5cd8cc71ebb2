"""Settings of the gateway."""

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Upstream URLs come from ``ZENOPS_UPSTREAM_<NAME>_URL`` (the launcher sets them)."""

    service_name: str = "gateway"
    upstream_workorders_url: str = "http://127.0.0.1:8081"
    upstream_evidence_url: str = "http://127.0.0.1:8082"
    upstream_factory_url: str = "http://127.0.0.1:8083"
    upstream_billing_url: str = "http://127.0.0.1:8084"
    git_sha: str = "unknown"
    build_time: str = "unknown"
    rate_limit_per_minute: int = 600
    upstream_timeout_s: float = 60.0
