#!/usr/bin/env bash
# `make compose-test`: docker-compose.yml for real, on this machine.
#
# 1. Docker engine and compose v2 (installed when missing: deploy/docker/engine.sh).
# 2. Stand-ins for the images Docker Hub would provide (deploy/docker/standins.sh, cached),
#    swapped in by deploy/docker/compose.standins.yml. Where Docker Hub is reachable, set
#    COMPOSE_STANDINS=0 to run the same proof on the official images.
# 3. The proof itself (tests/compose/proof.py): up --build --wait, payments through both
#    services, SIGKILL of the consumer and a Kafka restart under load with every payment
#    processed exactly once, Prometheus targets up, and `down -v` leaving nothing behind.
#
# The stack runs as the compose project $COMPOSE_PROJECT_NAME (paystream-proof), apart from a
# stack the user may have started with plain `docker compose up` (project paystream), whose
# volumes `down -v` must not touch. Host ports: 8000, 8001, 29092 and 9090 as in the compose
# file (taken = a clear error), PostgreSQL on 5432 or, when that is taken (the local
# PostgreSQL of `make test`), a free port.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
STATE_DIR="${STATE_DIR:-$ROOT/.local}"
PY="${PY:-$ROOT/.venv/bin/python}"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-paystream-proof}"

log() { printf '[compose-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_taken() {
  # shellcheck disable=SC2016 # $1 expands in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

deploy/docker/engine.sh up

files=(-f docker-compose.yml)
if [[ ${COMPOSE_STANDINS:-1} != 0 ]]; then
  files+=(-f deploy/docker/compose.standins.yml)
fi

# A stack left by an interrupted run of this proof would hold the ports: remove it first.
if [[ -n $(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME") ]]; then
  log "removing the containers of an earlier, interrupted run"
  docker compose "${files[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
fi

taken=()
for port in 8000 8001 29092 9090; do
  port_taken "$port" && taken+=("$port")
done
if ((${#taken[@]})); then
  die "host port(s) ${taken[*]} already in use; the compose stack publishes them. Stop what" \
    "listens there first (\`make down\` for the local services, \`docker compose down\` for" \
    "another compose stack)."
fi
PG_PORT=5432
if port_taken "$PG_PORT"; then
  PG_PORT="$(free_port)"
  log "port 5432 is in use (a local PostgreSQL?): the stack's PostgreSQL is published on $PG_PORT"
fi
export PG_PORT

if [[ ${COMPOSE_STANDINS:-1} != 0 ]]; then
  deploy/docker/standins.sh
fi
exec "$PY" -m tests.compose.proof "${files[@]}"
