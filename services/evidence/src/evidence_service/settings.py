"""Settings of the evidence service."""

from pydantic import field_validator

from evidence_service.ocr_engine import DEFAULT_LANGS, validate_langs
from shared.settings import ServiceSettings

SCHEMA = "evidence"

DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class Settings(ServiceSettings):
    """Environment-driven settings (prefix ``ZENOPS_``)."""

    service_name: str = "evidence"
    # Upload limit of POST /v1/documents (413 DOCUMENT_TOO_LARGE above it).
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # How long a request about an unknown work order waits for the workorders projection before 404.
    work_order_wait_ms: int = 3_000
    # Upper bound of one Tesseract run inside the OCR consumer.
    ocr_timeout_s: int = 60
    # Tesseract languages for images (`ZENOPS_OCR_LANGS`): English + Kannada + Hindi by default.
    ocr_langs: str = DEFAULT_LANGS

    @field_validator("ocr_langs")
    @classmethod
    def _langs(cls, value: str) -> str:
        return validate_langs(value)
