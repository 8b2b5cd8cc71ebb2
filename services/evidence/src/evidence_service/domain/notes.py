"""System notes the evidence service asks the work-order service to record (domain.md §1.7, §4).

The evidence service does not own comments: it ships notes inside its ``evidence_state`` event and
the work-order service inserts them as ``NOTES`` comments. Each note has a stable id derived from
what caused it, so a redelivered or re-published event inserts the note at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "MAX_FIELD_LINK_LINES",
    "NOTE_NAMESPACE",
    "FieldLinkAction",
    "NoteKind",
    "SystemNote",
    "field_link_line",
    "field_links_updated_note",
    "note_id",
    "ocr_enqueued_note",
    "profile_selected_note",
]

NOTE_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:zenops:repogen:evidence:system-note")
"""UUIDv5 namespace of system-note ids; changing it would duplicate every note on replay."""

MAX_FIELD_LINK_LINES: Final = 20
"""Lines listed in one field-link note (§4.7 step 6)."""


class NoteKind(StrEnum):
    """What a system note records; part of its stable id."""

    FIELD_LINKS_UPDATED = "field_links_updated"
    OCR_ENQUEUED = "ocr_enqueued"
    PROFILE_SELECTED = "profile_selected"


class FieldLinkAction(StrEnum):
    """The verbs of §4.7 field-link note lines."""

    LINKED = "Linked"
    UPDATED = "Updated"
    REFRESHED = "Refreshed"
    REMOVED = "Removed"


@dataclass(frozen=True, slots=True)
class SystemNote:
    """A ``NOTES`` comment for a work order, with an id stable across retries."""

    id: str
    work_order_id: str
    kind: NoteKind
    body: str
    comment_type: str = "NOTES"

    @classmethod
    def of(cls, work_order_id: str, kind: NoteKind, discriminator: str, body: str) -> SystemNote:
        """The note of ``kind`` for one cause (``discriminator``), with the id that cause always gets."""
        return cls(note_id(work_order_id, kind, discriminator), work_order_id, kind, body)

    def to_dict(self) -> dict[str, Any]:
        """The note as carried in the ``evidence_state`` event payload."""
        return {
            "id": self.id,
            "work_order_id": self.work_order_id,
            "kind": self.kind.value,
            "comment_type": self.comment_type,
            "body": self.body,
        }


def note_id(work_order_id: str, kind: NoteKind, discriminator: str) -> str:
    """Deterministic note id: uuid5 over (work order, kind, discriminator).

    The discriminator names the cause uniquely within the work order and kind, e.g. the OCR job id,
    or the id of the command/request that changed links or selected a profile.
    """
    return str(uuid.uuid5(NOTE_NAMESPACE, f"{work_order_id}|{kind.value}|{discriminator}"))


def field_link_line(
    action: FieldLinkAction, field_key: str, evidence_item_id: str, snapshot_version: int
) -> str:
    """One change line, e.g. ``Linked property.address <- evidence-1 (snapshot v2)``.

    Every action names the snapshot by version (the original printed the raw snapshot id for
    removals by link id; links now record the version they were made on, decision 6).
    """
    return f"{action.value} {field_key} <- {evidence_item_id} (snapshot v{snapshot_version})"


def field_links_updated_note(
    work_order_id: str, lines: Sequence[str], discriminator: str
) -> SystemNote | None:
    """The single note for one field-link request (§4.7 step 6), or None when nothing changed.

    Lists the first :data:`MAX_FIELD_LINK_LINES` lines; when there are more, a final line says how many
    were left out so the note never silently under-reports.
    """
    if not lines:
        return None
    shown = [f"- {line}" for line in lines[:MAX_FIELD_LINK_LINES]]
    hidden = len(lines) - MAX_FIELD_LINK_LINES
    if hidden > 0:
        shown.append(f"- ... and {hidden} more change(s)")
    body = "Field evidence links updated:\n" + "\n".join(shown)
    return SystemNote.of(work_order_id, NoteKind.FIELD_LINKS_UPDATED, discriminator, body)


def ocr_enqueued_note(
    work_order_id: str, ocr_job_id: str, evidence_item_id: str, evidence_type: str, doc_type: str | None
) -> SystemNote:
    """Note for an OCR request: ``OCR enqueued for evidence <id> (<TYPE>[/<DOC>])``.

    The original said "OCR placeholder enqueued"; OCR is real now (decision 28), so the word
    "placeholder" is dropped. The OCR job id makes the note id unique per request.
    """
    kind = f"{evidence_type}/{doc_type}" if doc_type else evidence_type
    body = f"OCR enqueued for evidence {evidence_item_id} ({kind})"
    return SystemNote.of(work_order_id, NoteKind.OCR_ENQUEUED, ocr_job_id, body)


def profile_selected_note(work_order_id: str, profile_id: str, discriminator: str) -> SystemNote:
    """Note for a profile selection: ``Evidence profile selected: <profile_id>`` (§4.4)."""
    body = f"Evidence profile selected: {profile_id}"
    return SystemNote.of(work_order_id, NoteKind.PROFILE_SELECTED, discriminator, body)
