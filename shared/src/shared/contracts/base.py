"""Base classes of the event contracts.

Readers ignore unknown fields (``extra="allow"`` keeps them for pass-through), so producers may add fields
inside a topic version; removing or retyping one is a breaking change that needs a ``vN+1`` topic
(checked against the committed AsyncAPI snapshot).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """A payload or a nested part of one."""

    model_config = ConfigDict(extra="allow")


class Event(Contract):
    """A payload carried in the envelope of ``TOPIC`` with envelope ``type`` = ``TYPE``."""

    TOPIC: ClassVar[str]
    TYPE: ClassVar[str]

    def __init_subclass__(cls, *, topic: str | None = None, type: str | None = None, **kwargs: Any) -> None:
        """Pin ``TOPIC`` and ``TYPE`` from the class line: ``class Created(Event, topic=T, type="created")``.

        An intermediate base (fields shared by several events) names neither and leaves both unset.
        """
        super().__init_subclass__(**kwargs)
        if topic is not None:
            cls.TOPIC = topic
        if type is not None:
            cls.TYPE = type

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready payload for :meth:`shared.db.uow.UnitOfWork.publish`."""
        return self.model_dump(mode="json")


class MoneyMinor(Contract):
    """Money on the wire: integer minor units (paise) + ISO currency. Never a float."""

    amount_minor: int
    currency: str = "INR"
