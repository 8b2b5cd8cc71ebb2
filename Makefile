# ZenOps Repogen — the commands a newcomer needs. Everything runs through uv.
SHELL := /bin/bash
UV ?= uv
PY := $(UV) run --frozen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install up down status demo test test-unit lint fmt bench asyncapi clean

install: ## Install Python deps (uv) and pre-fetch the pinned Kafka jars
	$(UV) sync --frozen
	$(PY) python -m shared.devstack.kafka fetch

up: install ## Start embedded Postgres + single-node Kafka + every service
	$(PY) python -m shared.devstack up

down: ## Stop exactly what `make up` started
	$(PY) python -m shared.devstack down

status:
	$(PY) python -m shared.devstack status

demo: up ## Start the whole system and run the factory flow end to end through the gateway
	$(PY) python -m scripts.demo

test: install ## Unit, integration (real Postgres + Kafka) and end-to-end tests
	$(PY) pytest

test-unit:
	$(PY) pytest -m "not stack"

lint: ## ruff, mypy (strict) and import-linter
	$(PY) ruff check .
	$(PY) ruff format --check .
	$(PY) mypy shared/src services/*/src bench
	$(PY) lint-imports

fmt:
	$(PY) ruff check --fix .
	$(PY) ruff format .

bench: install ## Benchmarks as ratios against raw aiokafka / raw Postgres on this machine
	$(PY) python -m bench.run

asyncapi: ## Regenerate docs/asyncapi.json from the event contracts (commit it)
	$(PY) python -m shared.contracts.asyncapi --write

clean: down
	rm -rf .zenops .zenops-test
