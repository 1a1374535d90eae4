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
# 4.x by default; 3.9.x (the last 3.x line) still works: KAFKA_VERSION=3.9.1. Each version's
# jars live apart (libs-<version>), so switching needs no download of what is already there.
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION="${SCALA_VERSION:-2.13}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs-$KAFKA_VERSION"
KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"
# Kafka 4.x logs through log4j 2, 3.x through log4j 1 (reload4j): the backend the jars get
# (the pom's profile) and the JVM flag that names its configuration (kafka_log_flag).
case "$KAFKA_VERSION" in
  3.*) KAFKA_LOGGING=reload4j ;;
  *) KAFKA_LOGGING=log4j2 ;;
esac

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

# kafka_log_flag broker|tools : the JVM flag pointing this Kafka version's logging backend at
# our configuration for the broker (INFO on stdout) or the tools (warnings on stderr).
kafka_log_flag() {
  local prefix=""
  [ "$1" = tools ] && prefix=tools-
  if [ "$KAFKA_LOGGING" = reload4j ]; then
    echo "-Dlog4j.configuration=file:$DEPLOY_DIR/kafka/${prefix}log4j.properties"
  else
    echo "-Dlog4j2.configurationFile=$DEPLOY_DIR/kafka/${prefix}log4j2.properties"
  fi
}

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

# pid_gone PID : true once PID no longer runs.
pid_gone() {
  ! kill -0 "$1" 2>/dev/null
}

# wait_exit PID SECONDS NAME : wait until PID has exited; returns 1 on timeout.
wait_exit() {
  wait_for "$2" "$3 pid $1 to exit" pid_gone "$1"
}

# stop_process PID NAME : SIGTERM, up to 30 s for a graceful exit, then SIGKILL.
stop_process() {
  local pid="$1" name="$2"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_exit "$pid" 30 "$name"; then
    log "$name did not stop in 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_exit "$pid" 10 "$name" || true
  fi
}

# stop_tracked PID_FILE MARKER NAME : stop our process if it runs (see tracked_pid) and
# remove its pid file. Returns 1 when it was not running, so callers can say why.
stop_tracked() {
  local pid
  pid="$(tracked_pid "$1" "$2" "$3")"
  rm -f "$1"
  [ -n "$pid" ] || return 1
  stop_process "$pid" "$3"
  rm -f "$1"
  log "$3 stopped"
}

# start_tracked PID_FILE LOG_FILE NAME COMMAND... : start COMMAND in its own session, so it
# survives the calling shell and a Ctrl-C in its terminal, with output appended to LOG_FILE;
# prints its pid. The inner bash writes its own pid and then execs COMMAND, so PID_FILE holds
# COMMAND's pid. COMMAND must carry the marker that tracked_pid looks for.
start_tracked() {
  local pid_file="$1" log_file="$2" name="$3" pid=""
  shift 3
  rm -f "$pid_file"
  # 9>&-: the child must not inherit (and so hold) the lock taken by with_lock.
  # shellcheck disable=SC2016 # $$/$1/$@ expand in the inner bash
  nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pid_file" "$@" \
    >>"$log_file" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 50); do
    pid="$(pid_from_file "$pid_file")"
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || die "$name did not write its pid file $pid_file"
  echo "$pid"
}

# rotate_log FILE : keep the previous run's log as FILE.1.
rotate_log() {
  if [ -f "$1" ]; then
    mv -f "$1" "$1.1"
  fi
}

# log_tail FILE [LINES] : the end of a log on stderr, to explain a failure.
log_tail() {
  if [ -f "$1" ]; then
    log "last lines of $1:"
    tail -n "${2:-40}" "$1" >&2 || true
  fi
}

# _alive_and PID NAME LOG_FILE PROBE... : PROBE's result while PID runs; exits the script
# (showing the log) when the process has died, so a crashed start fails fast.
_alive_and() {
  local pid="$1" name="$2" log_file="$3"
  shift 3
  if pid_gone "$pid"; then
    log_tail "$log_file"
    die "$name (pid $pid) exited during startup"
  fi
  "$@"
}

# wait_started SECONDS NAME PID LOG_FILE PROBE... : wait until PROBE succeeds; exits the
# script if the process dies first or the time runs out.
wait_started() {
  local timeout="$1" name="$2" pid="$3" log_file="$4"
  shift 4
  if ! wait_for "$timeout" "$name to be ready" _alive_and "$pid" "$name" "$log_file" "$@"; then
    log_tail "$log_file"
    die "$name did not become ready within ${timeout}s (still running as pid $pid; '$(basename -- "$0") down' stops it)"
  fi
}

# with_lock LOCK_FILE COMMAND... : run COMMAND holding LOCK_FILE, so that concurrent callers
# of the same script do not start two servers. The lock lives until the script exits.
with_lock() {
  local lock="$1"
  shift
  exec 9>"$lock"
  flock -w "${LOCK_TIMEOUT:-$((INFRA_TIMEOUT + 60))}" 9 ||
    die "another $(basename -- "$0") is running (lock $lock)"
  "$@"
}

_cmd_restart() {
  cmd_down && cmd_up
}

# dispatch LOCK_FILE "CMD..." ARG : run the script's function cmd_ARG when ARG is one of the
# listed commands, else print the usage and exit 2. status and libs only read, so they run
# without the lock; restart is down then up under one lock.
dispatch() {
  local lock="$1" commands="$2" cmd="${3:-}"
  case " $commands " in
    *" $cmd "*) [ -n "$cmd" ] || cmd="-" ;;
    *) cmd="-" ;;
  esac
  case "$cmd" in
    -)
      echo "usage: $0 {${commands// /|}}" >&2
      exit 2
      ;;
    status | libs) "cmd_$cmd" ;;
    restart) with_lock "$lock" _cmd_restart ;;
    *) with_lock "$lock" "cmd_$cmd" ;;
  esac
}
