# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are used by the scripts sourcing this file
# Shared settings and helpers for the local (Docker-free) infrastructure:
# a single-node Apache Kafka broker in KRaft mode and a PostgreSQL server.
#
# Sourced by the other scripts in deploy/local/. It can also be sourced from an
# interactive bash shell to get DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS:
#     source deploy/local/env.sh
#
# Every value below is a default that the environment may override. This file
# deliberately does not change shell options (set -e etc.): the scripts that
# source it set their own.

# Repository root, from this file's location (deploy/local/env.sh).
ROOT="${ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)}"
DEPLOY_DIR="$ROOT/deploy/local"

# Everything the scripts create (jars, data, logs, pid files) lives here; the
# folder is git-ignored. clean.sh wipes data but keeps the downloaded jars.
STATE_DIR="${STATE_DIR:-$ROOT/.local}"

# --- Kafka -------------------------------------------------------------------
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
SCALA_VERSION="${SCALA_VERSION:-2.13}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs-$KAFKA_VERSION"
KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"

# --- PostgreSQL --------------------------------------------------------------
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-paystream}"
PG_DB="${PG_DB:-paystream}"
PG_STATE_DIR="$STATE_DIR/pg"
DATABASE_URL="${DATABASE_URL:-postgresql+asyncpg://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB}"

# Upper bound, in seconds, for each readiness wait.
INFRA_TIMEOUT="${INFRA_TIMEOUT:-120}"

export ROOT STATE_DIR KAFKA_VERSION SCALA_VERSION KAFKA_PORT KAFKA_CONTROLLER_PORT \
  KAFKA_HEAP KAFKA_BOOTSTRAP_SERVERS PG_PORT PG_USER PG_DB DATABASE_URL INFRA_TIMEOUT

# --- helpers -----------------------------------------------------------------

# log MESSAGE... : one line on stderr, prefixed with the calling script's name.
log() {
  printf '[%s %s] %s\n' "${LOG_PREFIX:-$(basename -- "$0" .sh)}" "$(date +%H:%M:%S)" "$*" >&2
}

# die MESSAGE... : log and exit non-zero.
die() {
  log "ERROR: $*"
  exit 1
}

# wait_for TIMEOUT DESCRIPTION COMMAND [ARGS...]
# Runs COMMAND (in this shell, so it may be a function) every half second until
# it succeeds or TIMEOUT seconds have passed. Returns 0 on success, 1 on timeout.
wait_for() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  while true; do
    if "$@"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# tcp_open HOST PORT : true if something accepts TCP connections there.
tcp_open() {
  # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# is_root : true when running as uid 0.
is_root() {
  [ "$(id -u)" -eq 0 ]
}

# apt_install PACKAGE... : install Debian packages (root only). Serialised with
# a lock so that kafka.sh and postgres.sh started in parallel do not fight over
# dpkg; runs 'apt-get update' first. Bounded in time.
apt_install() {
  is_root || die "need to install '$*' but not running as root; install it (apt-get install $*) and retry"
  command -v apt-get >/dev/null 2>&1 || die "need to install '$*' but apt-get is not available"
  log "installing Debian package(s): $* (apt-get)"
  (
    flock -w 600 9 || die "could not get the apt lock within 600s"
    export DEBIAN_FRONTEND=noninteractive
    # 9>&-: services started by package scripts must not inherit the lock.
    timeout 300 apt-get -o DPkg::Lock::Timeout=240 update -qq >&2 9>&- ||
      log "apt-get update failed; trying the install anyway"
    timeout 540 apt-get -o DPkg::Lock::Timeout=240 install -y -qq --no-install-recommends "$@" >&2 9>&-
  ) 9>/var/lock/paystream-local-apt.lock || die "apt-get install $* failed"
}

# require_java : make sure a Java runtime (17+) is on PATH, installing one with
# apt when missing and running as root.
require_java() {
  if ! command -v java >/dev/null 2>&1; then
    apt_install openjdk-17-jre-headless
  fi
  command -v java >/dev/null 2>&1 || die "java not found on PATH"
}

# process_has_arg PID ARG : true if PID is alive and ARG is one of its command-line words.
# Our processes carry a marker argument, so a recycled pid is never mistaken for ours.
process_has_arg() {
  local pid="$1" arg="$2"
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cmdline" ]; then
    return 1
  fi
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -xF -- "$arg" >/dev/null
}

# pid_from_file FILE : the number in FILE, or nothing.
pid_from_file() {
  if [ -f "$1" ]; then
    tr -dc '0-9' <"$1"
  fi
  return 0
}

# tracked_pid PID_FILE MARKER NAME : the pid of our running process (its command line holds
# MARKER), or nothing. Removes a stale pid file; adopts ours if it runs without one.
tracked_pid() {
  local file="$1" marker="$2" name="$3" pid
  pid="$(pid_from_file "$file")"
  if [ -n "$pid" ]; then
    if process_has_arg "$pid" "$marker"; then
      echo "$pid"
      return 0
    fi
    log "removing stale pid file (pid $pid is not running our $name)"
    rm -f "$file"
  fi
  for pid in $(pgrep -f -- "$marker" 2>/dev/null || true); do
    if process_has_arg "$pid" "$marker"; then
      log "found our $name running without pid file (pid $pid); adopting it"
      echo "$pid" >"$file"
      echo "$pid"
      return 0
    fi
  done
  return 0
}

# stop_process PID NAME : SIGTERM, up to 30 s for a graceful exit, then SIGKILL.
stop_process() {
  local pid="$1" name="$2"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # shellcheck disable=SC2016 # $1 expands in the inner bash
  if ! wait_for 30 "$name pid $pid to exit" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"; then
    log "$name did not stop in 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    # shellcheck disable=SC2016 # $1 expands in the inner bash
    wait_for 10 "$name pid $pid to die" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid" || true
  fi
}
