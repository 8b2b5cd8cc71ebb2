"""Work-order status machine (domain.md §1.3; vectors SPN-03..05; decision 29)."""

from __future__ import annotations

import itertools

import pytest

from workorders_service.domain.errors import (
    InvalidStatusTransition,
    ReadinessBlocksReadyForRender,
    ReopenAfterReleaseForbidden,
    ReopenNoteRequired,
    SnapshotRequiredForReadyForRender,
)
from workorders_service.domain.transitions import (
    STATUSES,
    check_ready_for_render,
    check_transition,
    is_noop,
    is_reopen,
    status_change_comment,
)

SPN_03_ALLOWED = {
    ("DRAFT", "EVIDENCE_PENDING"),
    ("DRAFT", "DATA_PENDING"),
    ("DRAFT", "CANCELLED"),
    ("EVIDENCE_PENDING", "DATA_PENDING"),
    ("EVIDENCE_PENDING", "CANCELLED"),
    ("DATA_PENDING", "READY_FOR_RENDER"),
    ("DATA_PENDING", "CANCELLED"),
    ("DATA_PENDING", "CLOSED"),
    ("READY_FOR_RENDER", "CLOSED"),
    ("READY_FOR_RENDER", "CANCELLED"),
}
REOPEN = ("READY_FOR_RENDER", "DATA_PENDING")


class TestSpn03Table:
    @pytest.mark.parametrize(("from_status", "to_status"), sorted(SPN_03_ALLOWED))
    def test_allowed(self, from_status: str, to_status: str) -> None:
        check_transition(from_status, to_status)

    @pytest.mark.parametrize(
        ("from_status", "to_status"),
        [
            pair
            for pair in itertools.permutations(STATUSES, 2)
            if pair not in SPN_03_ALLOWED and pair != REOPEN
        ],
    )
    def test_rejected(self, from_status: str, to_status: str) -> None:
        with pytest.raises(InvalidStatusTransition) as caught:
            check_transition(from_status, to_status, note="n")
        assert caught.value.code == "INVALID_STATUS_TRANSITION"
        assert caught.value.message == f"invalid status transition {from_status} -> {to_status}"
        assert caught.value.details == {"from": from_status, "to": to_status}

    def test_draft_to_ready_message(self) -> None:
        with pytest.raises(
            InvalidStatusTransition, match=r"^invalid status transition DRAFT -> READY_FOR_RENDER$"
        ):
            check_transition("DRAFT", "READY_FOR_RENDER")

    @pytest.mark.parametrize("status", STATUSES)
    def test_same_status_is_a_noop(self, status: str) -> None:
        assert is_noop(status, status)
        check_transition(status, status)

    def test_unknown_status_is_invalid(self) -> None:
        with pytest.raises(InvalidStatusTransition):
            check_transition("ARCHIVED", "DRAFT")


class TestDecision29Reopen:
    def test_reopen_with_note_and_no_release(self) -> None:
        assert is_reopen(*REOPEN)
        check_transition(*REOPEN, note="wrong land area", has_successful_release=False)

    @pytest.mark.parametrize("note", [None, "", "   "])
    def test_reopen_requires_a_note(self, note: str | None) -> None:
        with pytest.raises(ReopenNoteRequired) as caught:
            check_transition(*REOPEN, note=note)
        assert caught.value.code == "REOPEN_NOTE_REQUIRED"

    def test_reopen_after_release_is_forbidden_even_with_a_note(self) -> None:
        with pytest.raises(ReopenAfterReleaseForbidden) as caught:
            check_transition(*REOPEN, note="please", has_successful_release=True)
        assert caught.value.code == "REOPEN_AFTER_RELEASE_FORBIDDEN"

    def test_release_check_comes_before_note_check(self) -> None:
        with pytest.raises(ReopenAfterReleaseForbidden):
            check_transition(*REOPEN, note=None, has_successful_release=True)

    def test_other_transitions_ignore_release_and_note(self) -> None:
        check_transition("READY_FOR_RENDER", "CLOSED", note=None, has_successful_release=True)


class TestSpn04Comment:
    def test_with_note(self) -> None:
        assert (
            status_change_comment("DRAFT", "EVIDENCE_PENDING", "demo evidence collection")
            == "Status changed: DRAFT -> EVIDENCE_PENDING\ndemo evidence collection"
        )

    @pytest.mark.parametrize("note", [None, ""])
    def test_without_note(self, note: str | None) -> None:
        assert (
            status_change_comment("DATA_PENDING", "CLOSED", note) == "Status changed: DATA_PENDING -> CLOSED"
        )


class TestReadyForRenderGate:
    def test_spn_05_no_snapshot(self) -> None:
        with pytest.raises(SnapshotRequiredForReadyForRender) as caught:
            check_ready_for_render(None)
        assert caught.value.message == "READY_FOR_RENDER requires at least one computed contract snapshot"
        assert caught.value.code == "SNAPSHOT_REQUIRED_FOR_READY_FOR_RENDER"

    def test_missing_fields_or_evidence_block_with_readiness_in_details(self) -> None:
        readiness = {
            "completeness_score": 80,
            "missing_fields": [],
            "missing_evidence": ["x: need at least 1, found 0"],
        }
        with pytest.raises(ReadinessBlocksReadyForRender) as caught:
            check_ready_for_render(readiness)
        assert caught.value.body() == {
            "code": "REPOGEN_READINESS_BLOCK",
            "message": "READY_FOR_RENDER blocked by missing fields/evidence",
            "details": {"readiness": readiness},
        }

    def test_score_warnings_and_links_never_block(self) -> None:
        check_ready_for_render(
            {
                "completeness_score": 10,
                "missing_fields": [],
                "missing_evidence": [],
                "missing_field_evidence_links": ["party.bank_name"],
                "warnings": ["w"],
            }
        )
