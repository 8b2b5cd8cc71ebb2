"""The failures of the ops routes."""

from __future__ import annotations

from shared.errors import DomainError


class OpsError(DomainError):
    """Base of the ops failures."""


class DeadLetterNotFound(OpsError, code="DEAD_LETTER_NOT_FOUND", status=404):
    """No parked or unsendable message has this id (or it is not a uuid)."""


class DeadLetterNotHead(OpsError, code="DEAD_LETTER_NOT_HEAD", status=409):
    """The message waits behind another one of its key: replay or discard the head of the key."""


class DeadLetterAlreadyHandled(OpsError, code="DEAD_LETTER_ALREADY_HANDLED", status=409):
    """The message was already handled by the other action (replayed vs discarded)."""


class StoryNotFound(OpsError, code="WORK_ORDER_STORY_NOT_FOUND", status=404):
    """The service holds no message about the work order within its retention window."""


class BrokerUnavailable(OpsError, code="BROKER_UNAVAILABLE", status=503):
    """The broker could not be asked (consumer positions, replays)."""
