"""Read a rendered report the way a bank's credit officer does, and say what is wrong with it (issue 21
item 6). Shared by the factory's template tests and the end-to-end test of the demo's released report."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

import docx

from factory_service.rendering.amount_words import parse_rupees_words

CODE_PATTERN: Final = re.compile(r"Verification code ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")
_FIGURES: Final = re.compile(r"^-?₹ ([0-9,]+\.[0-9]{2})(?: / sqm)?$")
INTERNAL_PHRASES: Final = (
    "Readiness",
    "Completeness score",
    "Missing evidence",
    "Missing fields",
    "need at least",
    "Annexure ordering metadata",
    "Field evidence links missing",
)
"""QA language that belongs on the internal cover sheet, never in the bank's copy."""


@dataclass(frozen=True)
class Report:
    """The text of a DOCX report by part: body paragraphs, table rows, header, footer."""

    paragraphs: list[str]
    tables: list[list[list[str]]]
    header: list[str]
    footer: list[str]
    footer_xml: str
    footer_media: list[bytes]

    @property
    def text(self) -> str:
        rows = [" | ".join(row) for table in self.tables for row in table]
        return "\n".join([*self.paragraphs, *rows, *self.header, *self.footer])

    def table_with(self, *headers: str) -> list[list[str]]:
        """The rows (without the header row) of the first table whose header row is ``headers``."""
        for table in self.tables:
            if table and tuple(table[0]) == headers:
                return table[1:]
        raise AssertionError(f"no table with the header {headers}")

    @property
    def verification_code(self) -> str | None:
        found = CODE_PATTERN.search("\n".join(self.footer))
        return found.group(1) if found else None


def read_report(data: bytes) -> Report:
    document = docx.Document(io.BytesIO(data))
    section = document.sections[0]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        footers = [n for n in archive.namelist() if re.fullmatch(r"word/footer\d*\.xml", n)]
        footer_xml = "".join(archive.read(n).decode("utf-8") for n in footers)
        rels = "".join(
            archive.read(f"word/_rels/{n.removeprefix('word/')}.rels").decode("utf-8")
            for n in footers
            if f"word/_rels/{n.removeprefix('word/')}.rels" in archive.namelist()
        )
        media = [archive.read("word/" + target) for target in re.findall(r'Target="(media/[^"]+)"', rels)]
    return Report(
        paragraphs=[p.text for p in document.paragraphs],
        tables=[[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables],
        header=[p.text for p in section.header.paragraphs],
        footer=[p.text for p in section.footer.paragraphs],
        footer_xml=footer_xml,
        footer_media=media,
    )


def money_pairs(report: Report) -> list[tuple[Decimal, str]]:
    """Every value cell printed as figures with the amount in words below: (figures, words)."""
    pairs: list[tuple[Decimal, str]] = []
    for table in report.tables:
        for row in table:
            for cell in row:
                lines = cell.split("\n")
                if len(lines) != 2:
                    continue
                figures = _FIGURES.match(lines[0])
                if figures is None:
                    continue
                words = lines[1].removeprefix("(").removesuffix(")").removesuffix(" per sqm")
                pairs.append((Decimal(figures.group(1).replace(",", "")), words))
    return pairs


def bank_copy_problems(report: Report, *, documents: int, evidence: int) -> list[str]:
    """What a credit officer would object to; empty for a sound report with ``documents`` attached
    documents and ``evidence`` evidence items."""
    problems: list[str] = []
    text = report.text
    for phrase in INTERNAL_PHRASES:
        if phrase in text:
            problems.append(f"internal QA text in the bank's copy: {phrase!r}")
    for leftover in ("{{", "{%"):
        if leftover in text:
            problems.append(f"unrendered template tag {leftover}")
    enclosures = report.table_with("#", "Document", "Label", "File", "Pages")
    if len(enclosures) != documents:
        problems.append(f"{len(enclosures)} enclosures listed for {documents} attached documents")
    if documents and "No documents are attached" in text:
        problems.append("says no documents are attached")
    schedule = report.table_with("#", "Order", "Type", "Document type", "Label", "Category", "File")
    if len(schedule) != evidence:
        problems.append(f"{len(schedule)} evidence schedule rows for {evidence} evidence items")
    for row in schedule:
        if row[3] in ("OTHER", "—") or row[4] == "—":
            problems.append(f"evidence schedule row without its document type or label: {row}")
        if row[2] in ("PHOTO", "GEO", "SCREENSHOT") and row[5] == "—":
            problems.append(f"photo without its category: {row}")
    pairs = money_pairs(report)
    if not pairs:
        problems.append("no value printed in figures and words")
    for figures, words in pairs:
        try:
            stated = parse_rupees_words(words)
        except ValueError as exc:
            problems.append(f"amount in words unreadable: {words!r} ({exc})")
            continue
        if stated != figures:
            problems.append(f"words {words!r} state {stated}, figures {figures}")
    if "PAGE" not in report.footer_xml or "NUMPAGES" not in report.footer_xml:
        problems.append("no Page n of m in the footer")
    if report.verification_code is None:
        problems.append("no verification code in the footer")
    if not report.footer_media:
        problems.append("no QR code in the footer")
    header = "\n".join(report.header)
    if "Work order" not in header or "Report date" not in header:
        problems.append(f"header lacks work order or report date: {header!r}")
    if "Registration no.:" not in text or "Name of the valuer:" not in text:
        problems.append("no valuer signature block")
    return problems


def pdf_pages_text(pdf: bytes) -> list[str]:
    """The text layer of each page of a PDF."""
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_problems(pdf: bytes, *, code: str, header: str) -> list[str]:
    """What is wrong with the PDF's text layer: every page must carry the header, the verification code
    and "Page n of m" with its own n and the true m; no internal QA text anywhere."""
    problems: list[str] = []
    pages = [" ".join(text.split()) for text in pdf_pages_text(pdf)]
    if not pages:
        return ["the PDF has no pages"]
    for number, text in enumerate(pages, start=1):
        if f"Page {number} of {len(pages)}" not in text:
            problems.append(f"page {number} lacks 'Page {number} of {len(pages)}'")
        if code not in text:
            problems.append(f"page {number} lacks the verification code")
        if header not in text:
            problems.append(f"page {number} lacks the header")
        for phrase in INTERNAL_PHRASES:
            if phrase in text:
                problems.append(f"page {number} prints internal QA text {phrase!r}")
    return problems


def save_page_images(pdf: bytes, folder: Path) -> list[Path]:
    """Each page of ``pdf`` as ``page-<n>.png`` in ``folder`` (for a person to look at)."""
    import pypdfium2

    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            image = document[index].render(scale=1.5).to_pil()
            path = folder / f"page-{index + 1:02d}.png"
            image.save(path)
            saved.append(path)
    finally:
        document.close()
    return saved
