"""ZenOps Repogen evidence service."""
