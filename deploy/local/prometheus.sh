#!/usr/bin/env bash
# Optional local Prometheus (no Docker): scrapes both services every 5 s and
# evaluates the same alert rules as the Docker stack (deploy/prometheus/alerts.yml).
#
# Usage: deploy/local/prometheus.sh {up|down|status}
#   up      write the config, start Prometheus on 127.0.0.1:$PROMETHEUS_PORT (9090)
#           and wait until /-/ready answers. Already running: reloads the config if
#           it changed. No 'prometheus' binary: installs Debian's package when root;
#           if that is impossible, prints a note and exits 0 (Prometheus is optional).
#   down    stop it (SIGTERM, then SIGKILL after 30 s); keeps the data
#   status  print whether it runs / answers (exit 0 if it answers)
#
# State under $STATE_DIR/prometheus/: prometheus.yml (generated), data/ (TSDB),
# prometheus.log, prometheus.pid. UI: http://127.0.0.1:9090 (alerts: /alerts).
set -euo pipefail
LOG_PREFIX=prometheus
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
PROMETHEUS_RETENTION="${PROMETHEUS_RETENTION:-2d}"
PROMETHEUS_TIMEOUT="${PROMETHEUS_TIMEOUT:-60}"
API_PORT="${API_PORT:-8000}"
CONSUMER_PORT="${CONSUMER_PORT:-8001}"
PROM_DIR="$STATE_DIR/prometheus"
CONFIG="$PROM_DIR/prometheus.yml"
DATA_DIR="$PROM_DIR/data"
PID_FILE="$PROM_DIR/prometheus.pid"
LOG_FILE="$PROM_DIR/prometheus.log"
RULES="$ROOT/deploy/prometheus/alerts.yml"
# This argument on the command line identifies our process.
MARKER="--config.file=$CONFIG"
URL="http://127.0.0.1:$PROMETHEUS_PORT"

mkdir -p "$PROM_DIR"

# --- the binary --------------------------------------------------------------

# Debian's package starts its own service on :9090 (as user 'prometheus', with
# /etc/prometheus/prometheus.yml). Stop and disable it so ours can bind. Best
# effort: this container may have no systemd.
stop_system_prometheus() {
  if [ -x /etc/init.d/prometheus ] && command -v service >/dev/null 2>&1; then
    timeout 30 service prometheus stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null 2>&1; then
    timeout 30 systemctl stop prometheus.service >/dev/null 2>&1 || true
    timeout 30 systemctl disable prometheus.service >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    timeout 30 update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  local pids pid
  pids="$(system_pids)"
  [ -n "$pids" ] || return 0
  for pid in $pids; do
    log "stopping the Debian package's prometheus service (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $pids; do
    # shellcheck disable=SC2016 # $1 expands in the inner bash
    wait_for 15 "pid $pid to exit" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid" ||
      kill -KILL "$pid" 2>/dev/null || true
  done
}

# Pids of prometheus processes started by the Debian package: its pid file, and
# any 'prometheus' process of the 'prometheus' user. Never ours.
system_pids() {
  {
    if [ -r /run/prometheus/prometheus.pid ]; then
      tr -dc '0-9' </run/prometheus/prometheus.pid || true
      echo
    fi
    pgrep -u prometheus -x prometheus 2>/dev/null || true
  } | sort -u | while read -r pid; do
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && ! process_has_arg "$pid" "$MARKER"; then
      echo "$pid"
    fi
  done
}

# Sets PROMETHEUS_BIN, installing the package if needed and possible. Returns 1
# (after a note) when there is no prometheus to run.
ensure_binary() {
  PROMETHEUS_BIN="$(command -v prometheus || true)"
  [ -n "$PROMETHEUS_BIN" ] && return 0
  if ! is_root; then
    log "NOTE: 'prometheus' is not installed and we are not root; skipping it (optional)."
    log "      Install it with: sudo apt-get install prometheus"
    return 1
  fi
  # apt_install exits on failure: run it in a subshell to carry on without Prometheus.
  if ! (apt_install prometheus); then
    log "NOTE: could not install the 'prometheus' package; skipping it (Prometheus is optional)"
    return 1
  fi
  stop_system_prometheus
  PROMETHEUS_BIN="$(command -v prometheus || true)"
  if [ -z "$PROMETHEUS_BIN" ]; then
    log "NOTE: the 'prometheus' package is installed but no prometheus binary is on PATH; skipping it"
    return 1
  fi
}

# --- process helpers -----------------------------------------------------------

# Pid of our running Prometheus, or empty (helpers in env.sh).
running_pid() {
  tracked_pid "$PID_FILE" "$MARKER" prometheus
}

port_free() {
  ! tcp_open 127.0.0.1 "$PROMETHEUS_PORT"
}

is_ready() {
  curl -fs -o /dev/null --max-time 2 "$URL/-/ready"
}

print_log_tail() {
  if [ -f "$LOG_FILE" ]; then
    log "last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 || true
  fi
}

# Readiness probe; exits the script if the process died.
ready_or_die() {
  local pid="$1"
  if ! kill -0 "$pid" 2>/dev/null; then
    print_log_tail
    rm -f "$PID_FILE"
    die "prometheus (pid $pid) exited during startup"
  fi
  is_ready
}

wait_ready() {
  local pid="$1"
  if ! wait_for "$PROMETHEUS_TIMEOUT" "prometheus $URL/-/ready" ready_or_die "$pid"; then
    print_log_tail
    die "prometheus did not become ready within ${PROMETHEUS_TIMEOUT}s (still running as pid $pid; 'prometheus.sh down' stops it)"
  fi
  log "prometheus is ready on $URL (pid $pid); alerts: $URL/alerts"
}

# --- configuration -------------------------------------------------------------

# YAML single-quoted scalar.
yaml_quote() {
  printf "'%s'" "${1//\'/\'\'}"
}

# Writes $CONFIG; sets CONFIG_CHANGED=1 if it changed, 0 if it was up to date.
CONFIG_CHANGED=0
write_config() {
  [ -f "$RULES" ] || die "alert rules not found: $RULES"
  cat >"$CONFIG.tmp" <<EOF
# Generated by deploy/local/prometheus.sh; rewritten at each 'up'. Do not edit.
# Local (Docker-free) twin of deploy/prometheus/prometheus.yml: same interval and
# alert rules, targets on 127.0.0.1.
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
  external_labels:
    stack: paystream-local

rule_files:
  - $(yaml_quote "$RULES")

scrape_configs:
  - job_name: transaction-api
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$API_PORT"]
        labels:
          service: transaction-api

  - job_name: notification-consumer
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$CONSUMER_PORT"]
        labels:
          service: notification-consumer

  - job_name: prometheus
    scrape_interval: 15s
    scrape_timeout: 10s
    static_configs:
      - targets: ["127.0.0.1:$PROMETHEUS_PORT"]
EOF
  local promtool
  promtool="$(command -v promtool || true)"
  if [ -n "$promtool" ] && ! timeout 60 "$promtool" check config "$CONFIG.tmp" >/dev/null 2>"$CONFIG.check"; then
    cat "$CONFIG.check" >&2
    rm -f "$CONFIG.check"
    die "promtool rejects the generated config ($CONFIG.tmp) or the rules ($RULES)"
  fi
  rm -f "$CONFIG.check"
  if [ -f "$CONFIG" ] && cmp -s "$CONFIG.tmp" "$CONFIG"; then
    rm -f "$CONFIG.tmp"
    CONFIG_CHANGED=0
  else
    mv "$CONFIG.tmp" "$CONFIG"
    CONFIG_CHANGED=1
  fi
}

# --- commands --------------------------------------------------------------------

cmd_up() {
  ensure_binary || exit 0
  local pid
  write_config
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    if [ "$CONFIG_CHANGED" = 1 ]; then
      log "already running (pid $pid); config changed, reloading it (SIGHUP)"
      kill -HUP "$pid" 2>/dev/null || true
    else
      log "already running (pid $pid)"
    fi
    wait_ready "$pid"
    return 0
  fi

  if tcp_open 127.0.0.1 "$PROMETHEUS_PORT" && [ -n "$(system_pids)" ]; then
    stop_system_prometheus
    wait_for 15 "port $PROMETHEUS_PORT to be released" port_free || true
  fi
  if tcp_open 127.0.0.1 "$PROMETHEUS_PORT"; then
    die "127.0.0.1:$PROMETHEUS_PORT is in use by another process (not started by this script); stop it or set PROMETHEUS_PORT"
  fi

  mkdir -p "$DATA_DIR"
  if [ -f "$LOG_FILE" ]; then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi
  log "starting $PROMETHEUS_BIN on $URL (config $CONFIG, log $LOG_FILE)"
  # setsid: own session, so it survives the calling shell. The inner bash writes
  # its own pid and then execs prometheus, so the pid file holds prometheus' pid.
  # shellcheck disable=SC2016 # $$/$1/$@ expand in the inner bash
  nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    "$PROMETHEUS_BIN" \
    "$MARKER" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --storage.tsdb.path="$DATA_DIR" \
    --storage.tsdb.retention.time="$PROMETHEUS_RETENTION" \
    >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 50); do
    pid="$(pid_from_file "$PID_FILE")"
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || die "prometheus did not write its pid file"
  wait_ready "$pid"
}

cmd_down() {
  local pid
  pid="$(running_pid)"
  if [ -z "$pid" ]; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  stop_process "$pid" prometheus
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    echo "prometheus: running (pid $pid), config $CONFIG, log $LOG_FILE"
  elif command -v prometheus >/dev/null 2>&1; then
    echo "prometheus: not running from $PROM_DIR"
  else
    echo "prometheus: not installed (optional; 'prometheus.sh up' installs it when root)"
  fi
  if [ -n "$pid" ] && is_ready; then
    echo "prometheus: $URL is ready (alerts: $URL/alerts)"
    return 0
  fi
  if [ -z "$pid" ] && tcp_open 127.0.0.1 "$PROMETHEUS_PORT"; then
    echo "prometheus: 127.0.0.1:$PROMETHEUS_PORT is served by another process (not ours)"
  else
    echo "prometheus: $URL is not ready"
  fi
  return 1
}

# Serialise up/down so concurrent callers do not start two servers.
with_lock() {
  exec 9>"$PROM_DIR/.lock"
  flock -w $((PROMETHEUS_TIMEOUT + 60)) 9 || die "another prometheus.sh is running (lock $PROM_DIR/.lock)"
  "$@"
}

case "${1:-}" in
  up) with_lock cmd_up ;;
  down) with_lock cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {up|down|status}" >&2
    exit 2
    ;;
esac
