"""Root pytest configuration: the shared stack fixtures (real Postgres + Kafka + services)."""

pytest_plugins = ["shared.testing.fixtures"]
