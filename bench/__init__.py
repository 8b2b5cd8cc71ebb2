"""Benchmarks of the messaging spine against raw aiokafka and raw Postgres (``make bench``)."""
