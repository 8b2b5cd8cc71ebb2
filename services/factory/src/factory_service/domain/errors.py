"""Factory failures, named as facts. Every one carries a SCREAMING_SNAKE code (style.md)."""

from __future__ import annotations

from shared.errors import DomainError


class FactoryError(DomainError):
    """Base of every expected factory failure."""

    status = 400
    code = "FACTORY_ERROR"


class TemplateKeyUnknown(FactoryError):
    """No template file serves this key: a mapping bug, so the edge answers 500."""

    status = 500
    code = "TEMPLATE_KEY_UNKNOWN"


class ExportBundleInvalid(FactoryError):
    """The frozen export bundle lacks what rendering needs (e.g. ``work_order_id``)."""

    status = 422
    code = "EXPORT_BUNDLE_INVALID"


class ZipEntryNameInvalid(FactoryError):
    """A reproducible ZIP was asked to hold an unsafe or duplicate entry name."""

    status = 500
    code = "ZIP_ENTRY_NAME_INVALID"
