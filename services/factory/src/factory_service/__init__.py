"""ZenOps Repogen factory service."""
