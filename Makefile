# Everything runs locally without Docker: real Apache Kafka (KRaft, from Maven Central's jars)
# and a real PostgreSQL, both under .local/ (git-ignored). See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install infra-up infra-down up down test test-fast lint bench clean cluster-up \
	cluster-down cluster-infra-up test-cluster chaos browser \
	compose-test docs asyncapi-check lock deploy-tools

# `make up CLUSTER=1`: the same stack on the local 3-broker cluster instead of one broker.
CLUSTER ?=
ifneq ($(CLUSTER),)
export KAFKA_BOOTSTRAP_SERVERS := $(shell deploy/local/cluster.sh bootstrap)
UP_INFRA := cluster-infra-up
else
UP_INFRA := infra-up
endif

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# requirements/*.txt are locks with hashes (pip refuses anything else): build.txt (pip and
# setuptools), runtime.txt (what the image holds), dev.txt (runtime + tests and tools, the
# runtime pins unchanged). The project itself goes in last, without dependencies.
$(STAMP): pyproject.toml requirements/build.txt requirements/dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --require-hashes -r requirements/build.txt
	@$(PY) -m pip install -q --require-hashes -r requirements/dev.txt
	@$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the locked dependencies (requirements/dev.txt)

LOCK := $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' -q
lock: install ## re-resolve requirements/*.txt from pyproject.toml (keeps pins; LOCK_ARGS=--upgrade)
	@$(LOCK) $(LOCK_ARGS) pyproject.toml -o requirements/runtime.txt
	@$(LOCK) $(LOCK_ARGS) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt
	@$(LOCK) $(LOCK_ARGS) requirements/build.in -o requirements/build.txt

infra-up: ## start Kafka + PostgreSQL (installs what is missing)
	@deploy/local/infra-up.sh

infra-down: ## stop Kafka + PostgreSQL (data stays)
	@deploy/local/infra-down.sh

up: install $(UP_INFRA) ## everything: Kafka, PostgreSQL and both services, in the background
	@WEBHOOK_ALLOW_PRIVATE_NETWORKS=$${WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true} deploy/local/services.sh up
	@deploy/local/prometheus.sh up || true
	@echo
	@echo "  transaction API        http://127.0.0.1:$${API_PORT:-8000}   (docs: /docs)"
	@echo "  notification consumer  http://127.0.0.1:$${CONSUMER_PORT:-8001}   (docs: /docs)"
	@if deploy/local/prometheus.sh status >/dev/null 2>&1; then echo "  prometheus             http://127.0.0.1:$${PROMETHEUS_PORT:-9090}   (alerts: /alerts)"; fi
	@echo "  operator console       http://127.0.0.1:$${CONSUMER_PORT:-8001}/console/"
	@echo "  logs                   .local/run/*.log"
	@echo "  webhooks               WEBHOOK_ALLOW_PRIVATE_NETWORKS=$${WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true}: local and private URLs (http too) are allowed"
	@echo "                         for this local stack only; leave it unset in production"
	@echo
	@echo "  try:"
	@echo "    curl -s -X POST http://127.0.0.1:8000/payments -H 'Content-Type: application/json' \\"
	@echo "      -d '{\"payer_id\":\"acct_alice\",\"payee_id\":\"acct_bob\",\"amount\":\"12.50\",\"currency\":\"EUR\"}'"
	@echo "    curl -s 'http://127.0.0.1:8001/events?account_id=acct_alice'"

down: ## stop the services, Kafka and PostgreSQL (data stays)
	@deploy/local/prometheus.sh down
	@deploy/local/services.sh down
	@deploy/local/cluster.sh down
	@deploy/local/infra-down.sh

cluster-up: ## a local 3-broker KRaft cluster (RF 3, min.insync.replicas=2) beside the single broker
	@deploy/local/cluster.sh up

cluster-down: ## stop the 3-broker cluster (data stays)
	@deploy/local/cluster.sh down

cluster-infra-up:
	@deploy/local/postgres.sh up
	@deploy/local/cluster.sh up

test-cluster: install ## fault tests on the 3-broker cluster (starts it and PostgreSQL; about 2 min)
	@deploy/local/postgres.sh up
	@deploy/local/cluster.sh up
	@PAYSTREAM_CLUSTER=1 KAFKA_BOOTSTRAP_SERVERS=$$(deploy/local/cluster.sh bootstrap) \
	  $(PY) -m pytest tests/cluster $(PYTEST_ARGS)

chaos: install ## faults against the running stack (make up [CLUSTER=1]), then reconciliation
	@CLUSTER=$(CLUSTER) $(PY) deploy/local/chaos.py

browser: ## Debian's chromium + chromedriver for the console's browser tests (apt, as root)
	@deploy/local/chromium.sh

deploy-tools: ## kustomize and promtool, pinned, built with Go from the Go module proxy (kept in ~/.cache/paystream)
	@deploy/tools.sh install

test: install infra-up asyncapi-check deploy-tools ## the whole test suite against the real Kafka and PostgreSQL
	@deploy/local/chromium.sh --if-possible
	@$(PY) -m pytest $(PYTEST_ARGS)

ASYNCAPI_NODE := tests/asyncapi/node_modules/.package-lock.json
$(ASYNCAPI_NODE): tests/asyncapi/package.json tests/asyncapi/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	@npm ci --prefix tests/asyncapi --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

asyncapi-check: $(ASYNCAPI_NODE) ## the AsyncAPI document through the official parser (npm)
	@node tests/asyncapi/validate.mjs shared/payment_events/schemas/asyncapi.json

test-fast: install ## unit tests only (no servers)
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: install ## ruff and mypy --strict
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy services shared tests bench tools deploy/local/chaos.py \
	  deploy/prometheus/prometheus_rule.py

docs: install ## regenerate docs/configuration.md from the Settings classes
	@$(PY) -m tools.config_doc

compose-test: install ## docker-compose.yml for real: up, faults under load, exactly once, down (as root; installs Docker if missing)
	@deploy/docker/compose-test.sh

BENCH_PEERS_BIN ?= .local/bench/bin
bench: install infra-up ## the benchmarks (~30 min; BENCH_QUICK=1: a few); regenerates BENCHMARKS.md
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@if command -v go >/dev/null; then cd bench/peers && go build -o $(abspath $(BENCH_PEERS_BIN))/ ./cmd/...; \
	  else echo "go not found: the Go peers are skipped"; fi
	@BENCH_PEERS_BIN=$(abspath $(BENCH_PEERS_BIN)) $(PY) -m bench.run

clean: ## stop everything and delete local data (keeps the downloaded jars)
	@deploy/local/prometheus.sh down
	@deploy/local/services.sh down
	@deploy/local/cluster.sh down
	@deploy/local/clean.sh
