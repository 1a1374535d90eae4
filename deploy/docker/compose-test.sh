#!/usr/bin/env bash
# `make compose-test`: docker-compose.yml for real, on this machine.
#
# 1. Docker engine and compose v2 (installed when missing: deploy/docker/engine.sh).
# 2. Stand-ins for the images Docker Hub would provide (deploy/docker/standins.sh, cached),
#    swapped in by deploy/docker/compose.standins.yml. Where Docker Hub is reachable, set
#    COMPOSE_STANDINS=0 to run the same proof on the official images.
#    COMPOSE_SPLIT=1 adds docker-compose.split.yml: the consumer's roles as three services.
# 3. The proof itself (tests/compose/proof.py): up --build --wait, payments through both
#    services, SIGKILL of the consumer and a Kafka restart under load with every payment
#    processed exactly once, Prometheus targets up, and `down -v` leaving nothing behind.
#
# The stack runs as the compose project $COMPOSE_PROJECT_NAME (paystream-proof), apart from a
# stack the user may have started with plain `docker compose up` (project paystream), whose
# volumes `down -v` must not touch. Every host port is a free one chosen here (API_PORT,
# CONSUMER_PORT, KAFKA_HOST_PORT, PG_PORT, PROMETHEUS_PORT, GRAFANA_PORT), so the proof never
# takes the ports of a local Kafka, PostgreSQL or `make up` (9092, 5432, 8000, 8001).
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
STATE_DIR="${STATE_DIR:-$ROOT/.local}"
PY="${PY:-$ROOT/.venv/bin/python}"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-paystream-proof}"

log() { printf '[compose-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

deploy/docker/engine.sh up

files=(-f docker-compose.yml)
# COMPOSE_SPLIT=1: the same proof with the consumer split by role (docker-compose.split.yml);
# the SIGKILL then hits the ingest process, and the payments are read back from consumer-http.
if [[ ${COMPOSE_SPLIT:-0} != 0 ]]; then
  files+=(-f docker-compose.split.yml)
fi
if [[ ${COMPOSE_STANDINS:-1} != 0 ]]; then
  files+=(-f deploy/docker/compose.standins.yml)
  if [[ ${COMPOSE_SPLIT:-0} != 0 ]]; then
    files+=(-f deploy/docker/compose.standins.split.yml)
  fi
fi

# A stack left by an interrupted run of this proof would hold the ports: remove it first.
if [[ -n $(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME") ]]; then
  log "removing the containers of an earlier, interrupted run"
  docker compose "${files[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
fi

for variable in API_PORT CONSUMER_PORT KAFKA_HOST_PORT PG_PORT PROMETHEUS_PORT GRAFANA_PORT; do
  export "$variable=$(free_port)"
done
log "host ports: API $API_PORT, consumer $CONSUMER_PORT, Kafka $KAFKA_HOST_PORT," \
  "PostgreSQL $PG_PORT, Prometheus $PROMETHEUS_PORT"
# Required by docker-compose.yml; a throwaway one for this run.
GRAFANA_ADMIN_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
export GRAFANA_ADMIN_PASSWORD

if [[ ${COMPOSE_STANDINS:-1} != 0 ]]; then
  deploy/docker/standins.sh
fi
exec "$PY" -m tests.compose.proof "${files[@]}"
