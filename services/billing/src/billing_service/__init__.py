"""ZenOps Repogen billing service."""
