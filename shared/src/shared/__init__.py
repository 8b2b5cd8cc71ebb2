"""ZenOps Repogen shared package: contracts and mechanisms, never business rules."""
