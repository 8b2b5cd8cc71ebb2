"""The report as PDF beside the DOCX (issue 21 item 5): LibreOffice headless from the system packages
(``deploy/system-packages.txt``, installed by ``scripts/bootstrap.py system``), made reproducible.

LibreOffice stamps every export with the wall-clock time (``CreationDate``/``ModDate``, the XMP packet) and
a random file identifier; :func:`normalize_pdf` rewrites those through pypdf: the document information
is replaced by fixed values (the report date, the DOCX's SHA-256 as subject), the XMP packet dropped and
the identifier derived from the DOCX bytes, so the same DOCX always gives the same PDF bytes. Each
conversion runs in its own temporary profile directory, so conversions never share LibreOffice state.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Final

from factory_service.domain.errors import PdfConversionFailed, PdfConverterUnavailable

CONVERT_TIMEOUT_S: Final = 180.0
PRODUCER: Final = "ZenOps Repogen factory (LibreOffice)"
_ERROR_TAIL: Final = 500


def converter() -> str | None:
    """The LibreOffice executable on this machine, if any."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _pdf_date(moment: datetime) -> str:
    return moment.strftime("D:%Y%m%d%H%M%S+00'00'")


def normalize_pdf(raw: bytes, *, docx_sha256: str, title: str, stamp: datetime) -> bytes:
    """``raw`` (LibreOffice's PDF) with fixed metadata and identifier: the same input, the same bytes."""
    # pypdf (~19 MB) only where a PDF is written, not in every factory process
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    root = writer.root_object
    if NameObject("/Metadata") in root:
        del root[NameObject("/Metadata")]
    writer.metadata = None
    writer.add_metadata(
        {
            "/Title": title,
            "/Subject": f"DOCX sha256 {docx_sha256}",
            "/Producer": PRODUCER,
            "/Creator": PRODUCER,
            "/CreationDate": _pdf_date(stamp),
            "/ModDate": _pdf_date(stamp),
        }
    )
    file_id = ByteStringObject(bytes.fromhex(docx_sha256)[:16])
    writer._ID = ArrayObject((file_id, file_id))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_to_pdf(docx: bytes, *, title: str, stamp: datetime) -> bytes:
    """The PDF of a report DOCX (see the module docstring).

    Raises ``PdfConverterUnavailable`` without LibreOffice and ``PdfConversionFailed`` when it produced
    no PDF.
    """
    soffice = converter()
    if soffice is None:
        raise PdfConverterUnavailable
    with tempfile.TemporaryDirectory(prefix="zenops-pdf-") as tmp:
        work = Path(tmp)
        source = work / "report.docx"
        source.write_bytes(docx)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "TZ": "UTC",
            "LANG": "C.UTF-8",
            "SAL_USE_VCLPLUGIN": "svp",
        }
        argv = [
            soffice,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(work),
            str(source),
        ]
        try:
            done = subprocess.run(  # noqa: S603  fixed argv: the located soffice and our own temp files
                argv, capture_output=True, timeout=CONVERT_TIMEOUT_S, check=False, env=env
            )
        except subprocess.TimeoutExpired as exc:
            raise PdfConversionFailed(details={"reason": "timeout"}) from exc
        produced = work / "report.pdf"
        if done.returncode != 0 or not produced.is_file():
            tail = (done.stderr or done.stdout).decode("utf-8", "replace")[-_ERROR_TAIL:]
            raise PdfConversionFailed(details={"exit_code": done.returncode, "output": tail})
        raw = produced.read_bytes()
    return normalize_pdf(raw, docx_sha256=hashlib.sha256(docx).hexdigest(), title=title, stamp=stamp)
