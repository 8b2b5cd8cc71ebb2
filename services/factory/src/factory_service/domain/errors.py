"""Factory failures, named as facts. Every one carries a SCREAMING_SNAKE code (style.md)."""

from __future__ import annotations

from typing import ClassVar

from shared.errors import AppError


class FactoryError(AppError):
    """Base of every expected factory failure."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "FACTORY_ERROR"


class TemplateKeyUnknown(FactoryError):
    """No template file serves this key: a mapping bug, so the edge answers 500."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "TEMPLATE_KEY_UNKNOWN"


class ExportBundleInvalid(FactoryError):
    """The frozen export bundle lacks what rendering needs (e.g. ``work_order_id``)."""

    status: ClassVar[int] = 422
    default_code: ClassVar[str] = "EXPORT_BUNDLE_INVALID"


class ZipEntryNameInvalid(FactoryError):
    """A reproducible ZIP was asked to hold an unsafe or duplicate entry name."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "ZIP_ENTRY_NAME_INVALID"
