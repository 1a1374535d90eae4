#!/usr/bin/env bash
# Start or stop both services in the background (pid files and logs under .local/run).
#   services.sh up      migrate, create topics, start both, wait until /readyz answers 200
#   services.sh down    SIGTERM both (graceful), SIGKILL after 30 s
#   services.sh status  print whether each runs and is ready (exit 0 if both are)
#   services.sh restart-consumer  stop and start the consumer alone (make chaos uses it)
set -euo pipefail
LOG_PREFIX=services
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"
RUN_DIR="$STATE_DIR/run"
BIN="$ROOT/.venv/bin"
API_PORT="${API_PORT:-8000}"
CONSUMER_PORT="${CONSUMER_PORT:-8001}"
mkdir -p "$RUN_DIR"

# The marker is a Python -X option naming this run dir: it sets our processes apart from a
# recycled pid and from test runs of the same console scripts.
marker() { echo "-Xpaystream.run=$RUN_DIR/$1"; }

tracked() { tracked_pid "$RUN_DIR/$1.pid" "$(marker "$1")" "$1"; }

ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz"; }

# One setup step, logged to migrate.log; on failure its output is shown, not only logged.
setup() {
  local out
  log "$*"
  if ! out="$("$BIN/$1" "${@:2}" 2>&1)"; then
    printf '%s\n' "$out" | tee -a "$RUN_DIR/migrate.log" >&2
    die "'$*' failed (output above, also in $RUN_DIR/migrate.log)"
  fi
  printf '%s\n' "$out" >>"$RUN_DIR/migrate.log"
}

start() { # name port
  local name="$1" port="$2" pid
  pid="$(tracked "$name")"
  if [ -n "$pid" ]; then
    log "$name already running (pid $pid)"
  else
    pid="$(PORT="$port" start_tracked "$RUN_DIR/$name.pid" "$RUN_DIR/$name.log" "$name" \
      "$BIN/python" "$(marker "$name")" "$BIN/$name" serve)"
    log "$name started (pid $pid, log $RUN_DIR/$name.log)"
  fi
  wait_started "$INFRA_TIMEOUT" "$name /readyz" "$pid" "$RUN_DIR/$name.log" ready "$port"
}

# The consumer reads the API's side of reconciliation and lineage here.
export API_URL="${API_URL:-http://127.0.0.1:$API_PORT}"

cmd_up() {
  export DATABASE_URL KAFKA_BOOTSTRAP_SERVERS
  setup transaction-api migrate
  setup notification-consumer migrate
  setup notification-consumer create-topics
  start transaction-api "$API_PORT"
  start notification-consumer "$CONSUMER_PORT"
}

cmd_down() {
  local name
  for name in transaction-api notification-consumer; do
    stop_tracked "$RUN_DIR/$name.pid" "$(marker "$name")" "$name" || true
  done
}

cmd_restart-consumer() {
  export DATABASE_URL KAFKA_BOOTSTRAP_SERVERS
  stop_tracked "$RUN_DIR/notification-consumer.pid" "$(marker notification-consumer)" \
    notification-consumer || true
  start notification-consumer "$CONSUMER_PORT"
}

cmd_status() {
  local name port pid rc=0
  for name in transaction-api notification-consumer; do
    port="$API_PORT"
    [ "$name" = transaction-api ] || port="$CONSUMER_PORT"
    pid="$(tracked "$name")"
    if [ -z "$pid" ]; then
      echo "$name: not running"
      rc=1
    elif ready "$port"; then
      echo "$name: running (pid $pid), ready on 127.0.0.1:$port"
    else
      echo "$name: running (pid $pid), not ready on 127.0.0.1:$port"
      rc=1
    fi
  done
  return "$rc"
}

dispatch "$RUN_DIR/.lock" "up down status restart-consumer" "$@"
