"""Pure factory rules: template keys, report families, artifact naming. No I/O here."""
