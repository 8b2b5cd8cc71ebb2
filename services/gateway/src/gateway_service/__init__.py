"""ZenOps Repogen gateway service."""
