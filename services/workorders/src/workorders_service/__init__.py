"""ZenOps Repogen workorders service."""
