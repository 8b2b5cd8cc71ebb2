"""Reproducible rendering: report DOCX from an export bundle, evidence-pack ZIP, ZIP normalisation."""
