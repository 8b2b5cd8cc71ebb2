"""Entry point: ``uvicorn console_service.main:create_app --factory``."""

from console_service.app import create_app

__all__ = ["create_app"]
