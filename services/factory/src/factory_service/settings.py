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
    # The valuer who signs the reports (issue 21): printed in each report's signature block and fixed
    # in the pack when it is built. Not secrets; the defaults are demo placeholders a deployment
    # replaces (ZENOPS_VALUER_NAME, ZENOPS_VALUER_REGISTRATION_NO).
    valuer_name: str = "Demo Valuer (not configured)"
    valuer_registration_no: str = "IBBI/RV/00/0000/00000 (demo)"
    # Where anyone reaches the gateway's public verify route (ZENOPS_PUBLIC_BASE_URL): each page's
    # QR code encodes <public_base_url>/v1/verify/<code>.
    public_base_url: str = "http://127.0.0.1:8080"
