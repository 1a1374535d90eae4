#!/usr/bin/env bash
# Start or stop both services in the background (pid files and logs under .local/run).
#   services.sh up    migrate, create topics, start both, wait until /readyz answers 200
#   services.sh down  SIGTERM both (graceful), SIGKILL after 30 s
set -euo pipefail
# shellcheck source=deploy/local/env.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"
RUN_DIR="$STATE_DIR/run"
BIN="$ROOT/.venv/bin"
mkdir -p "$RUN_DIR"

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz"; }

start() { # name port
  local name="$1" port="$2"
  if running "$name"; then
    log "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"
    return 0
  fi
  rm -f "$RUN_DIR/$name.pid"
  PORT="$port" setsid nohup "$BIN/$name" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  log "$name started (pid $!, log $RUN_DIR/$name.log)"
}

stop() { # name
  local name="$1" pid
  running "$name" || { rm -f "$RUN_DIR/$name.pid"; return 0; }
  pid="$(cat "$RUN_DIR/$name.pid")"
  stop_process "$pid" "$name"
  rm -f "$RUN_DIR/$name.pid"
  log "$name stopped"
}

case "${1:-}" in
  up)
    export DATABASE_URL KAFKA_BOOTSTRAP_SERVERS
    "$BIN/transaction-api" migrate 2>>"$RUN_DIR/migrate.log"
    "$BIN/notification-consumer" migrate 2>>"$RUN_DIR/migrate.log"
    "$BIN/notification-consumer" create-topics 2>>"$RUN_DIR/migrate.log"
    start transaction-api "${API_PORT:-8000}"
    # The console reads the API (readiness, outbox, lineage) wherever this script put it.
    API_URL="${API_URL:-http://127.0.0.1:${API_PORT:-8000}}" \
      start notification-consumer "${CONSUMER_PORT:-8001}"
    wait_for "$INFRA_TIMEOUT" "transaction-api /readyz" ready "${API_PORT:-8000}" ||
      { tail -n 20 "$RUN_DIR/transaction-api.log" >&2; exit 1; }
    wait_for "$INFRA_TIMEOUT" "notification-consumer /readyz" ready "${CONSUMER_PORT:-8001}" ||
      { tail -n 20 "$RUN_DIR/notification-consumer.log" >&2; exit 1; }
    ;;
  down)
    stop transaction-api
    stop notification-consumer
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
