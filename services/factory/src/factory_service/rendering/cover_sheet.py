"""The internal QA cover sheet of a pack (issue 21 item 1): a separate DOCX for operators, never part of
the bank's copy (not in the report, not in the evidence pack, not downloadable by the portal).

It prints what the bank's report leaves out: the readiness recorded at READY_FOR_RENDER (score, missing
fields and evidence, warnings), the evidence checklist of that moment, and the snapshot's own readiness
for comparison (decision 5 keeps it as it was when the snapshot was taken). Byte-reproducible like the
report: fixed core properties and the normalised ZIP writer.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from factory_service.rendering.docx_renderer import AUTHOR, FIXED_EPOCH, report_date_of
from factory_service.rendering.formatting import MISSING
from factory_service.rendering.reproducible_zip import normalize_zip
from factory_service.rendering.sections import mapping, sequence
from factory_service.rendering.stamp import ReportStamp

if TYPE_CHECKING:
    from docx.document import Document

COVER_SHEET_TITLE: Final = "INTERNAL QA COVER SHEET — not part of the bank's copy"


def _text(value: object) -> str:
    if value is None or isinstance(value, Mapping | list | tuple):
        return MISSING
    return str(value).strip() or MISSING


def _readiness_block(doc: Document, heading: str, readiness: Mapping[str, Any] | None) -> None:
    doc.add_heading(heading, level=1)
    if readiness is None:
        doc.add_paragraph("Not recorded in this bundle.")
        return
    doc.add_paragraph(f"Completeness score: {_text(readiness.get('completeness_score'))} / 100")
    for title, key in (
        ("Missing fields", "missing_fields"),
        ("Missing evidence", "missing_evidence"),
        ("Warnings", "warnings"),
    ):
        items = [_text(item) for item in sequence(readiness.get(key))]
        doc.add_paragraph(f"{title}: {len(items)}")
        for item in items:
            doc.add_paragraph(item, style="List Bullet")


def _checklist(doc: Document, rows: Sequence[Any]) -> None:
    doc.add_heading("Evidence checklist at READY_FOR_RENDER", level=1)
    items = [mapping(row) for row in rows]
    if not items:
        doc.add_paragraph("No checklist recorded (no evidence profile).")
        return
    table = doc.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, header in zip(
        table.rows[0].cells, ("Item", "Required", "Minimum", "Found", "Satisfied"), strict=True
    ):
        cell.text = header
    for item in items:
        cells = table.add_row().cells
        cells[0].text = _text(item.get("label"))
        cells[1].text = "yes" if item.get("is_required") else "no"
        cells[2].text = _text(item.get("min_count"))
        cells[3].text = _text(item.get("current_count"))
        cells[4].text = "yes" if item.get("satisfied") else "NO"


def render_cover_sheet(
    bundle: Mapping[str, Any],
    *,
    template_key: str,
    export_bundle_hash: str,
    pack_version: int,
    stamp: ReportStamp | None = None,
) -> bytes:
    """The internal cover sheet DOCX of a pack; the same inputs give the same bytes."""
    # python-docx only where a cover sheet is rendered (the CPU pool's worker), not at start-up
    import docx
    from docx.shared import Pt

    state = mapping(bundle.get("render_state"))
    doc = docx.Document()
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_paragraph(COVER_SHEET_TITLE, style="Title")
    facts = (
        ("Work order", bundle.get("work_order_id")),
        ("Snapshot version", bundle.get("snapshot_version")),
        ("Template", template_key),
        ("Pack version", pack_version),
        ("Export bundle sha256", export_bundle_hash),
        ("Verification code", stamp.display_code if stamp else None),
        ("Evidence version at READY_FOR_RENDER", state.get("evidence_version")),
    )
    table = doc.add_table(rows=len(facts), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, facts, strict=True):
        row.cells[0].text = label
        row.cells[1].text = _text(value)
    readiness = state.get("readiness")
    _readiness_block(
        doc, "Readiness at READY_FOR_RENDER", readiness if isinstance(readiness, Mapping) else None
    )
    _checklist(doc, sequence(state.get("checklist")))
    snapshot = bundle.get("readiness_json")
    _readiness_block(
        doc,
        "Readiness stored with the snapshot (for comparison; decision 5)",
        snapshot if isinstance(snapshot, Mapping) else None,
    )
    props = doc.core_properties
    props.author = props.last_modified_by = AUTHOR
    props.title = COVER_SHEET_TITLE
    props.identifier = export_bundle_hash
    props.revision = 1
    props.created = props.modified = report_date_of(bundle) or FIXED_EPOCH
    out = io.BytesIO()
    doc.save(out)
    return normalize_zip(out.getvalue())
