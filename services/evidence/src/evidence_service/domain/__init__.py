"""Pure evidence-intelligence rules: seeded profiles, default selection, annexure order, OCR field
extraction and system-note wording. No I/O and no framework imports here."""
