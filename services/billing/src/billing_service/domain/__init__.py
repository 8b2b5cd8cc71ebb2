"""Billing's pure domain: money, accounts and policies, the credits ledger, the release gate,
acceptance and compensation, and service-invoice rules. No I/O and no framework imports here; the
handlers load state, call these functions and apply what they return."""
