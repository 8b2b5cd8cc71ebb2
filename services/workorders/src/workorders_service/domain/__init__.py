"""Pure Repogen work-order rules: contract schema, rules engine, status transitions. No I/O here."""
