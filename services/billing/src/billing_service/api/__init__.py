"""HTTP routes of the billing service, by audience: request model → command → handler → view."""

from fastapi import APIRouter

from billing_service.api.billing import router as billing_router
from billing_service.api.control import router as control_router
from billing_service.api.control_subscriptions import router as control_subscriptions_router
from billing_service.api.invoices import router as invoices_router
from billing_service.api.payments import router as payments_router
from billing_service.api.subscriptions import router as subscriptions_router

router = APIRouter()
router.include_router(billing_router)
router.include_router(control_router)
router.include_router(subscriptions_router)
router.include_router(control_subscriptions_router)
router.include_router(invoices_router)
router.include_router(payments_router)

__all__ = ["router"]
