"""Documents billing renders from its own state (decision 33: the invoice PDF)."""
