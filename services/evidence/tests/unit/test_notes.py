"""System-note wording (domain.md §4.4, §4.7, §4.8; vector EVI-01) and stable note ids."""

from __future__ import annotations

import uuid

from evidence_service.domain.notes import (
    MAX_FIELD_LINK_LINES,
    FieldLinkAction,
    NoteKind,
    field_link_line,
    field_links_updated_note,
    note_id,
    ocr_enqueued_note,
    profile_selected_note,
)


class TestFieldLinkNote:
    def test_evi01_wording(self) -> None:
        line = field_link_line(FieldLinkAction.LINKED, "property.address", "evidence-1", 2)
        note = field_links_updated_note("wo-1", [line], discriminator="req-1")

        assert note is not None
        assert note.comment_type == "NOTES"
        assert (
            note.body
            == "Field evidence links updated:\n- Linked property.address <- evidence-1 (snapshot v2)"
        )
        assert "Field evidence links updated" in note.body
        assert "Linked property.address <- evidence-1" in note.body

    def test_every_action_has_its_verb(self) -> None:
        lines = [
            field_link_line(action, "property.land_area", "ev-9", 3)
            for action in (
                FieldLinkAction.LINKED,
                FieldLinkAction.UPDATED,
                FieldLinkAction.REFRESHED,
                FieldLinkAction.REMOVED,
            )
        ]

        assert lines == [
            "Linked property.land_area <- ev-9 (snapshot v3)",
            "Updated property.land_area <- ev-9 (snapshot v3)",
            "Refreshed property.land_area <- ev-9 (snapshot v3)",
            "Removed property.land_area <- ev-9 (snapshot v3)",
        ]

    def test_no_lines_no_note(self) -> None:
        assert field_links_updated_note("wo-1", [], discriminator="req-1") is None

    def test_lists_first_twenty_lines_and_counts_the_rest(self) -> None:
        lines = [field_link_line(FieldLinkAction.LINKED, f"f{i}", "ev", 1) for i in range(23)]

        note = field_links_updated_note("wo-1", lines, discriminator="req-1")

        assert note is not None
        body_lines = note.body.split("\n")
        assert body_lines[0] == "Field evidence links updated:"
        assert body_lines[1 : MAX_FIELD_LINK_LINES + 1] == [f"- {line}" for line in lines[:20]]
        assert body_lines[-1] == "- ... and 3 more change(s)"
        assert len(body_lines) == 22


class TestOtherNotes:
    def test_profile_selected(self) -> None:
        note = profile_selected_note("wo-1", "profile-1", discriminator="cmd-1")

        assert note.body == "Evidence profile selected: profile-1"
        assert note.kind is NoteKind.PROFILE_SELECTED

    def test_ocr_enqueued_with_and_without_doc_type(self) -> None:
        with_doc = ocr_enqueued_note("wo-1", "job-1", "ev-1", "DOCUMENT", "SALE_DEED")
        without_doc = ocr_enqueued_note("wo-1", "job-2", "ev-2", "PHOTO", None)

        assert with_doc.body == "OCR enqueued for evidence ev-1 (DOCUMENT/SALE_DEED)"
        assert without_doc.body == "OCR enqueued for evidence ev-2 (PHOTO)"
        assert with_doc.id == note_id("wo-1", NoteKind.OCR_ENQUEUED, "job-1")

    def test_to_dict_shape(self) -> None:
        note = profile_selected_note("wo-1", "profile-1", discriminator="cmd-1")

        assert note.to_dict() == {
            "id": note.id,
            "work_order_id": "wo-1",
            "kind": "profile_selected",
            "comment_type": "NOTES",
            "body": "Evidence profile selected: profile-1",
        }


class TestNoteIds:
    def test_same_cause_same_id(self) -> None:
        first = note_id("wo-1", NoteKind.FIELD_LINKS_UPDATED, "req-1")
        again = note_id("wo-1", NoteKind.FIELD_LINKS_UPDATED, "req-1")

        assert first == again
        assert uuid.UUID(first).version == 5

    def test_any_component_changes_the_id(self) -> None:
        base = note_id("wo-1", NoteKind.FIELD_LINKS_UPDATED, "req-1")

        assert (
            len(
                {
                    base,
                    note_id("wo-2", NoteKind.FIELD_LINKS_UPDATED, "req-1"),
                    note_id("wo-1", NoteKind.PROFILE_SELECTED, "req-1"),
                    note_id("wo-1", NoteKind.FIELD_LINKS_UPDATED, "req-2"),
                }
            )
            == 4
        )

    def test_id_is_pinned(self) -> None:
        # Changing the namespace or the layout would re-insert every note on replay; pin one value.
        expected = uuid.uuid5(
            uuid.uuid5(uuid.NAMESPACE_URL, "urn:zenops:repogen:evidence:system-note"),
            "wo-1|ocr_enqueued|job-1",
        )

        assert note_id("wo-1", NoteKind.OCR_ENQUEUED, "job-1") == str(expected)
