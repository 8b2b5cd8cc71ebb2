"""Build the factory's DOCX report templates (docxtpl/Jinja tags) into ``src/factory_service/templates``.

Run once after changing a layout and commit the outputs:

    cd /work/main && uv run python services/factory/scripts/build_templates.py

Each bank format is a visibly different document (title, format note, section order, value table,
declaration); ``REPOGEN_GENERIC_V1`` serves every ``REPOGEN_<TYPE>_<SELECTOR>_V1`` key. The files are
written through the same reproducible ZIP writer as the reports, so rebuilding gives identical bytes.
The context the tags read is built by ``factory_service.rendering.docx_renderer.build_report_context``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from factory_service.domain.templates import (
    AGRI_GENERIC_V1,
    COOP_LB_V1,
    GENERIC_TEMPLATE_FILE_KEY,
    PSU_GENERIC_OVER_5CR_V1,
    SBI_UNDER_5CR_V1,
)
from factory_service.rendering.reproducible_zip import normalize_zip

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "src" / "factory_service" / "templates"
TEMPLATE_EPOCH = datetime(1980, 1, 1, 0, 0, 0, tzinfo=UTC)

Row = tuple[str, str]


# --------------------------------------------------------------------------------------------------
# Building blocks


def _document(accent: RGBColor) -> Document:
    doc = docx.Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    doc.styles["Normal"].font.size = Pt(10)
    for name in ("Title", "Heading 1", "Heading 2"):
        doc.styles[name].font.color.rgb = accent
    header = section.header.paragraphs[0]
    header.text = "{{ party.bank_name }} · Work order {{ work_order_id }} · Report date {{ report_date }}"
    header.runs[0].font.size = Pt(8)
    verification = section.footer.paragraphs[0]
    verification.text = "Verification code {{ verification.code }} · verify at {{ verification.url }} · "
    verification.runs[0].font.size = Pt(8)
    _page_x_of_y(verification)
    section.footer.add_paragraph("{{ verification.qr }}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = section.footer.add_paragraph(
        "{{ template_key }} · pack v{{ pack_version }} · work order {{ work_order_id }} · "
        "snapshot v{{ snapshot_version }} · export bundle sha256 {{ export_bundle_hash }}"
    )
    footer.runs[0].font.size = Pt(7)
    return doc


def _field(paragraph: Paragraph, instruction: str, shown: str) -> None:
    """A simple field (``PAGE``, ``NUMPAGES``) whose result a word processor computes on every page;
    ``shown`` is the cached text a reader without layout sees."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {instruction} ")
    run = OxmlElement("w:r")
    properties, size = OxmlElement("w:rPr"), OxmlElement("w:sz")
    size.set(qn("w:val"), "16")  # 8 pt, as the footer text
    properties.append(size)
    run.append(properties)
    text = OxmlElement("w:t")
    text.text = shown
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _page_x_of_y(paragraph: Paragraph) -> None:
    """``Page n of m`` on every page."""
    paragraph.add_run("Page ").font.size = Pt(8)
    _field(paragraph, "PAGE", "1")
    paragraph.add_run(" of ").font.size = Pt(8)
    _field(paragraph, "NUMPAGES", "1")


def _masthead(doc: Document, format_note: str, bank_line: str) -> None:
    doc.add_paragraph("{{ title }}", style="Title")
    doc.add_paragraph(format_note, style="Subtitle")
    doc.add_paragraph(bank_line)
    doc.add_paragraph("Template: {{ template_key }}")


def _kv_table(doc: Document, rows: Sequence[Row]) -> None:
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, rows, strict=True):
        cells = row.cells
        cells[0].text = label
        cells[0].paragraphs[0].runs[0].bold = True
        cells[1].text = value


def _loop_table(
    doc: Document,
    headers: Sequence[str],
    loop: str,
    cells: Sequence[str],
    widths_mm: Sequence[int] | None = None,
) -> None:
    # docxtpl: a row whose first cell holds "{%tr ... %}" is replaced by the bare tag, so the
    # middle row repeats once per item (with its cell widths).
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    if widths_mm is not None:
        table.autofit = False
        for column, width in zip(table.columns, widths_mm, strict=True):
            column.width = Mm(width)  # the grid LibreOffice lays out by
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
    header_row, loop_start, item_row, loop_end = table.rows
    for cell, header in zip(header_row.cells, headers, strict=True):
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    loop_start.cells[0].text = "{%tr for " + loop + " %}"
    for cell, value in zip(item_row.cells, cells, strict=True):
        cell.text = value
    loop_end.cells[0].text = "{%tr endfor %}"


REFERENCE_ROWS: Sequence[Row] = (
    ("Work order", "{{ work_order_id }}"),
    ("Snapshot version", "{{ snapshot_version }}"),
    ("Report date", "{{ report_date }}"),
    ("Report type", "{{ report_type }}"),
    ("Bank type", "{{ bank_type }}"),
    ("Template selector", "{{ template_selector }}"),
    ("Value slab", "{{ value_slab }}"),
    ("Report pack version", "{{ pack_version }}"),
)
PARTY_ROWS: Sequence[Row] = (
    ("Name of the borrower", "{{ party.borrower_name }}"),
    ("Name of the owner", "{{ party.owner_name }}"),
    ("Client", "{{ party.client_name }}"),
    ("Bank", "{{ party.bank_name }}"),
    ("Branch", "{{ party.bank_branch_name }}"),
    ("Branch code", "{{ party.bank_branch_code }}"),
)
PROPERTY_ROWS: Sequence[Row] = (
    ("Address of the property", "{{ property.address }}"),
    ("City", "{{ property.city }}"),
    ("Taluk", "{{ property.taluk }}"),
    ("Village", "{{ property.village }}"),
    ("Survey no.", "{{ property.survey_no }}"),
    ("CTS no.", "{{ property.cts_no }}"),
    ("Khata no.", "{{ property.khata_no }}"),
    ("Land area (as measured)", "{{ property.land_area_input }}"),
    ("Built-up area (as measured)", "{{ property.built_up_area_input }}"),
)
LAND_ROWS: Sequence[Row] = (
    ("Survey no.", "{{ property.survey_no }}"),
    ("Village", "{{ property.village }}"),
    ("Taluk", "{{ property.taluk }}"),
    ("Khata no.", "{{ property.khata_no }}"),
    ("Extent of land (as per records)", "{{ property.land_area_input }}"),
    ("Extent of land (standardized)", "{{ areas.land_area_sqm }}"),
    ("Location / address", "{{ property.address }}"),
    ("City / nearest town", "{{ property.city }}"),
)


def _money(name: str) -> str:
    """A value cell: the figures, and the amount in words on the next line."""
    return "{{ " + name + ".figures }}\n{{ " + name + ".in_words }}"


AREAS_RATES_ROWS: Sequence[Row] = (
    ("Land area (standardized)", "{{ areas.land_area_sqm }}"),
    ("Built-up area (standardized)", "{{ areas.built_up_area_sqm }}"),
    ("Guideline rate", _money("rates.guideline")),
    ("Market rate", _money("rates.market")),
    ("Adopted rate", _money("rates.adopted")),
)


def kv_section(doc: Document, heading: str, rows: Sequence[Row]) -> None:
    """A heading over a two-column label/placeholder table."""
    doc.add_heading(heading, level=1)
    _kv_table(doc, rows)


def property_section(doc: Document, heading: str) -> None:
    kv_section(doc, heading, PROPERTY_ROWS)
    doc.add_heading("Floors", level=2)
    _loop_table(doc, ["Floor", "Area"], "floor in property.floors", ["{{ floor.label }}", "{{ floor.area }}"])


STANDARD_VALUES: Sequence[Row] = (
    ("Fair market value (FMV)", _money("values.fmv")),
    ("Realizable value (95% of FMV)", _money("values.realizable")),
    ("Distress value (80% of FMV)", _money("values.distress")),
)
COOP_VALUES: Sequence[Row] = (
    ("Market value", _money("values.coop_market")),
    ("Adopted (considered) value — 80% of market", _money("values.coop_adopted")),
    ("Value rounded up to the next ₹500", _money("values.coop_rounded")),
)


def values_section(doc: Document, heading: str, rows: Sequence[Row], note: str) -> None:
    kv_section(doc, heading, rows)
    doc.add_paragraph(note)


def justification_section(doc: Document, heading: str) -> None:
    doc.add_heading(heading, level=1)
    doc.add_paragraph("{%p for line in manual.justification_lines %}")
    doc.add_paragraph("{{ line }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not manual.justification_lines %}")
    doc.add_paragraph("No justification recorded.")
    doc.add_paragraph("{%p endif %}")


def enclosures_section(doc: Document, heading: str) -> None:
    """The attached documents (from the evidence), then the valuer's own enclosure notes."""
    doc.add_heading(heading, level=1)
    _loop_table(
        doc,
        ["#", "Document", "Label", "File", "Pages"],
        "enc in enclosures",
        [
            "{{ enc.serial }}",
            "{{ enc.document }}",
            "{{ enc.label }}",
            "{{ enc.filename }}",
            "{{ enc.pages }}",
        ],
        widths_mm=(10, 52, 46, 48, 14),
    )
    doc.add_paragraph("{%p if not enclosures %}")
    doc.add_paragraph("No documents are attached to this work order.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for item in manual.enclosures_lines %}")
    doc.add_paragraph("{{ item }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")


def annexure_section(doc: Document, heading: str) -> None:
    doc.add_heading(heading, level=1)
    _loop_table(
        doc,
        ["#", "Order", "Type", "Document type", "Label", "Category", "File"],
        "row in annexure_rows",
        [
            "{{ row.serial }}",
            "{{ row.order }}",
            "{{ row.evidence_type }}",
            "{{ row.doc_type }}",
            "{{ row.label }}",
            "{{ row.category }}",
            "{{ row.filename }}",
        ],
        widths_mm=(9, 14, 30, 31, 28, 26, 32),
    )
    doc.add_paragraph("{%p if not annexure_rows %}")
    doc.add_paragraph("No evidence items in the manifest.")
    doc.add_paragraph("{%p endif %}")


def images_section(doc: Document, heading: str) -> None:
    doc.add_heading(heading, level=1)
    doc.add_paragraph("{%p for page in image_pages %}")
    page_heading = doc.add_heading(
        "{{ page.group_label }} — photograph page {{ page.number }} of {{ image_page_count }}", level=2
    )
    page_heading.paragraph_format.page_break_before = True
    doc.add_paragraph("{%p for img in page.images %}")
    doc.add_paragraph("{%p if img.available %}")
    doc.add_paragraph("{{ img.image }}").alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("[Image not available in the blob store]").alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{{ img.caption }}", style="Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not image_pages %}")
    doc.add_paragraph("No photographs in the evidence manifest.")
    doc.add_paragraph("{%p endif %}")


def declaration(doc: Document, heading: str, text: str) -> None:
    doc.add_heading(heading, level=1)
    doc.add_paragraph(text)
    doc.add_paragraph("Place: ____________    Date: {{ report_date }}")
    doc.add_paragraph("Signature of the valuer: ______________________")
    doc.add_paragraph("Name of the valuer: {{ valuer.name }}")
    doc.add_paragraph("Registration no.: {{ valuer.registration_no }}")


# --------------------------------------------------------------------------------------------------
# Templates


def sbi_under_5cr() -> Document:
    doc = _document(RGBColor(0x00, 0x4B, 0x8D))
    _masthead(
        doc,
        "SBI Format A — valuation of immovable property for advances up to ₹5 crore",
        "To: The Branch Manager, {{ party.bank_name }}, {{ party.bank_branch_name }}",
    )
    kv_section(doc, "Part A — Reference", REFERENCE_ROWS)
    kv_section(doc, "Part B — Borrower and owner", PARTY_ROWS)
    property_section(doc, "Part C — Description of the property")
    kv_section(doc, "Part D — Areas and rates", AREAS_RATES_ROWS)
    values_section(
        doc,
        "Part E — Valuation",
        STANDARD_VALUES,
        "Realizable and distress values follow SBI Format A: 95% and 80% of the fair market value.",
    )
    justification_section(doc, "Part F — Justification for the adopted value")
    enclosures_section(doc, "Part G — Enclosures")
    declaration(
        doc,
        "Declaration (SBI Format A)",
        "I hereby declare that I have inspected the property, that the information furnished above is "
        "true and correct to the best of my knowledge, and that I have no direct or indirect interest "
        "in the property valued.",
    )
    annexure_section(doc, "Annexure I — Evidence schedule")
    images_section(doc, "Annexure II — Photographs")
    return doc


def psu_generic_over_5cr() -> Document:
    doc = _document(RGBColor(0x7A, 0x1F, 0x1F))
    _masthead(
        doc,
        "PSU bank generic format — high-value property (₹5 crore and above)",
        "Submitted to {{ party.bank_name }} — branch {{ party.bank_branch_name }} ({{ party.bank_branch_code }})",
    )
    values_section(
        doc,
        "1. Summary of values",
        STANDARD_VALUES,
        "High-value report: the summary precedes the detail as the PSU generic format requires.",
    )
    kv_section(doc, "2. Assignment reference", REFERENCE_ROWS)
    kv_section(doc, "3. Parties", PARTY_ROWS)
    property_section(doc, "4. Property details")
    kv_section(doc, "5. Areas, guideline and market rates", AREAS_RATES_ROWS)
    justification_section(doc, "6. Basis of valuation and justification")
    enclosures_section(doc, "7. Documents enclosed")
    declaration(
        doc,
        "8. Valuer's certificate (PSU generic)",
        "Certified that the valuation above was carried out by me in accordance with the bank's policy "
        "for high-value exposures, after physical inspection of the property and scrutiny of the title "
        "documents enclosed.",
    )
    annexure_section(doc, "Schedule A — Evidence register")
    images_section(doc, "Schedule B — Site photographs")
    return doc


def coop_lb() -> Document:
    doc = _document(RGBColor(0x1E, 0x6B, 0x3A))
    _masthead(
        doc,
        "Co-operative bank LB format — market and adopted (considered) values",
        "For {{ party.bank_name }}, {{ party.bank_branch_name }}",
    )
    kv_section(doc, "I. Reference", REFERENCE_ROWS)
    kv_section(doc, "II. Applicant and owner", PARTY_ROWS)
    property_section(doc, "III. Property")
    kv_section(doc, "IV. Areas and rates", AREAS_RATES_ROWS)
    values_section(
        doc,
        "V. Co-operative bank values",
        COOP_VALUES,
        "The adopted value is 80% of the market value; the figure for sanction is rounded up to the "
        "next ₹500.",
    )
    doc.add_heading("Fair market value (where computed)", level=2)
    _kv_table(doc, STANDARD_VALUES)
    justification_section(doc, "VI. Remarks and justification")
    enclosures_section(doc, "VII. Enclosures")
    declaration(
        doc,
        "VIII. Certificate (co-operative bank)",
        "Certified that the market value and the adopted value stated above were arrived at after "
        "inspection, and that the round-up to the next ₹500 has been reviewed.",
    )
    annexure_section(doc, "Annexure — Evidence list")
    images_section(doc, "Annexure — Photographs")
    return doc


def agri_generic() -> Document:
    doc = _document(RGBColor(0x6B, 0x4E, 0x16))
    _masthead(
        doc,
        "Agricultural land valuation — generic agri format (RTC based)",
        "Lending bank: {{ party.bank_name }}, {{ party.bank_branch_name }}",
    )
    kv_section(doc, "A. Reference", REFERENCE_ROWS)
    kv_section(doc, "B. Cultivator / owner", PARTY_ROWS)
    kv_section(doc, "Land particulars (RTC / revenue records)", LAND_ROWS)
    kv_section(doc, "C. Rates applied", AREAS_RATES_ROWS)
    values_section(
        doc,
        "D. Value of the agricultural property",
        STANDARD_VALUES,
        "Realizable and distress values are 95% and 80% of the fair market value.",
    )
    justification_section(doc, "E. Basis of valuation")
    enclosures_section(doc, "F. Revenue records enclosed")
    declaration(
        doc,
        "G. Declaration (agricultural property)",
        "I declare that I have inspected the land, verified the survey number and extent against the "
        "revenue records enclosed, and that the valuation reflects the prevailing agricultural land rates.",
    )
    annexure_section(doc, "Annexure — Evidence schedule")
    images_section(doc, "Annexure — Site and GPS photographs")
    return doc


def generic() -> Document:
    doc = _document(RGBColor(0x33, 0x33, 0x33))
    _masthead(
        doc,
        "Generic Repogen report — no bank-specific format applies to this report type or selector",
        "Bank: {{ party.bank_name }} ({{ party.bank_branch_name }})",
    )
    kv_section(doc, "Reference", REFERENCE_ROWS)
    kv_section(doc, "Parties", PARTY_ROWS)
    property_section(doc, "Property")
    kv_section(doc, "Areas and rates", AREAS_RATES_ROWS)
    values_section(
        doc, "Values", STANDARD_VALUES, "Values as computed by the rules engine for this snapshot."
    )
    doc.add_heading("Co-operative values (where computed)", level=2)
    _kv_table(doc, COOP_VALUES)
    justification_section(doc, "Justification")
    enclosures_section(doc, "Enclosures")
    declaration(
        doc,
        "Declaration",
        "I declare that the information furnished above is true and correct to the best of my knowledge "
        "and that I have no direct or indirect interest in the property valued.",
    )
    annexure_section(doc, "Evidence annexure")
    images_section(doc, "Photographs")
    return doc


BUILDERS: dict[str, Callable[[], Document]] = {
    SBI_UNDER_5CR_V1: sbi_under_5cr,
    PSU_GENERIC_OVER_5CR_V1: psu_generic_over_5cr,
    COOP_LB_V1: coop_lb,
    AGRI_GENERIC_V1: agri_generic,
    GENERIC_TEMPLATE_FILE_KEY: generic,
}


def template_bytes(key: str) -> bytes:
    """The reproducible bytes of template ``key`` (fixed core properties, normalised ZIP)."""
    doc = BUILDERS[key]()
    props = doc.core_properties
    props.author = props.last_modified_by = "ZenOps Repogen factory"
    props.title = key
    props.revision = 1
    props.created = props.modified = TEMPLATE_EPOCH
    out = io.BytesIO()
    doc.save(out)
    return normalize_zip(out.getvalue())


def main() -> None:
    """Write every template file and print its name."""
    TEMPLATES_DIR.mkdir(parents=True, exist_ok=True)
    for key in BUILDERS:
        path = TEMPLATES_DIR / f"{key}.docx"
        path.write_bytes(template_bytes(key))
        print(path)


if __name__ == "__main__":
    main()
