"""Entry point: ``uvicorn gateway_service.main:create_app --factory``."""

from gateway_service.bootstrap import create_app

__all__ = ["create_app"]
