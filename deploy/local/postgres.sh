#!/usr/bin/env bash
# Local PostgreSQL server without Docker.
#
# Usage: deploy/local/postgres.sh {up|down|restart|kill|status}
#   up       use a server that already answers as $PG_USER/$PG_DB on
#            127.0.0.1:$PG_PORT; otherwise install PostgreSQL if missing (apt,
#            as root), initdb once, start our own server, create role + db
#   down     fast shutdown of our server (data kept); leaves other servers alone
#   restart  down then up
#   kill     SIGKILL our postmaster (crash simulation for fault tests; 'up'
#            recovers it)
#   status   print whether the server answers (exit 0 if it does)
#
# Where the data lives: $STATE_DIR/pg/data, owned by the 'postgres' OS user when
# these scripts run as root (PostgreSQL refuses to run as root). If that user
# cannot reach $STATE_DIR/pg (e.g. the clone is under /root, mode 700) we do NOT
# loosen permissions on the user's directories; instead the server's directory
# is /var/tmp/paystream-pg-<hash of $STATE_DIR> and $STATE_DIR/pg/data and
# $STATE_DIR/pg/postgres.log are symlinks to it. The symlink records the choice,
# so later runs (and clean.sh) find the same place.
set -euo pipefail
LOG_PREFIX=postgres
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

PG_OS_USER=postgres
# Set by ensure_server_installed; PG_BIN (environment) may name a bin dir to prefer.
PG_BIN_DIR=""
# shellcheck source-path=SCRIPTDIR source=pg-binaries.sh
. "$DEPLOY_DIR/pg-binaries.sh"
mkdir -p "$PG_STATE_DIR"

# --- probes ------------------------------------------------------------------------

# Can we connect as $PG_USER to $PG_DB? (never prompts for a password)
app_connect_ok() {
  local psql
  psql="$(find_client psql)"
  [ -n "$psql" ] || return 1
  [ "$(PGCONNECT_TIMEOUT=3 "$psql" -w -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
    -tAc 'select 1' 2>/dev/null)" = 1 ]
}

port_free() {
  ! tcp_open 127.0.0.1 "$PG_PORT"
}

# --- data directory ----------------------------------------------------------------

# Sets PG_BASE (server-owned dir), PG_DATA, PG_LOG, PG_SOCK.
resolve_dirs() {
  local link="$PG_STATE_DIR/data"
  if [ -L "$link" ]; then
    PG_DATA="$(readlink -- "$link")"
    PG_BASE="$(dirname -- "$PG_DATA")"
  elif [ -d "$link" ] || ! is_root; then
    PG_BASE="$PG_STATE_DIR"
    PG_DATA="$link"
  else
    chown "$PG_OS_USER:" "$PG_STATE_DIR"
    if runuser -u "$PG_OS_USER" -- test -w "$PG_STATE_DIR" -a -x "$PG_STATE_DIR" 2>/dev/null; then
      PG_BASE="$PG_STATE_DIR"
      PG_DATA="$link"
    else
      local hash
      hash="$(printf '%s' "$STATE_DIR" | sha1sum | cut -c1-12)"
      PG_BASE="/var/tmp/paystream-pg-$hash"
      PG_DATA="$PG_BASE/data"
      log "user '$PG_OS_USER' cannot reach $PG_STATE_DIR; keeping the server files in $PG_BASE (symlinked from $PG_STATE_DIR)"
      mkdir -p "$PG_BASE"
      ln -sfn "$PG_DATA" "$link"
      ln -sfn "$PG_BASE/postgres.log" "$PG_STATE_DIR/postgres.log"
    fi
  fi
  PG_LOG="$PG_BASE/postgres.log"
  PG_SOCK="$PG_BASE/run"
  # A Unix socket path must stay short (about 107 bytes); fall back to /tmp.
  if [ "${#PG_SOCK}" -gt 80 ]; then
    PG_SOCK=/tmp
  fi
  mkdir -p "$PG_BASE"
  [ "$PG_SOCK" = /tmp ] || mkdir -p "$PG_SOCK"
  if is_root; then
    chown "$PG_OS_USER:" "$PG_BASE"
    [ "$PG_SOCK" = /tmp ] || chown "$PG_OS_USER:" "$PG_SOCK"
    if [ -e "$PG_LOG" ]; then
      chown "$PG_OS_USER:" "$PG_LOG"
    fi
  fi
  chmod 700 "$PG_BASE"
  return 0
}

# Pid of the postmaster running on our data dir, or empty. A postmaster.pid
# whose pid is dead or now belongs to another program is stale; it is removed.
our_postmaster_pid() {
  local pidfile="$PG_DATA/postmaster.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(head -n1 "$pidfile" | tr -dc '0-9')"
  [ -n "$pid" ] || return 0
  local comm cwd
  comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
  # The postmaster runs with the data dir as its working directory.
  if { [ "$comm" = postgres ] || [ "$comm" = postmaster ]; } &&
    { [ -z "$cwd" ] || [ "$cwd" = "$(cd "$PG_DATA" && pwd -P)" ]; }; then
    echo "$pid"
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    log "postmaster.pid names pid $pid, which is not PostgreSQL any more; removing the stale file"
    rm -f "$pidfile"
  fi
  # A dead pid is handled by PostgreSQL itself at start.
}

# --- server lifecycle ------------------------------------------------------------------

init_once() {
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  local locale=C
  if locale -a 2>/dev/null | grep -ixE 'c\.utf-?8' >/dev/null; then
    locale=C.UTF-8
  fi
  # initdb into a temporary dir and rename, so an interrupted initdb never
  # leaves a half-made data dir behind.
  local tmp="$PG_BASE/data.initdb"
  rm -rf "$tmp"
  if [ -d "$PG_DATA" ]; then
    log "removing the incomplete data dir $PG_DATA (no PG_VERSION in it)"
    rm -rf "$PG_DATA"
  fi
  log "initdb $PG_DATA (PostgreSQL $(major_of "$PG_BIN_DIR"), locale $locale)"
  as_pg "$PG_BIN_DIR/initdb" -D "$tmp" --auth=trust --username=postgres -E UTF8 \
    --locale="$locale" >"$PG_BASE/initdb.log" 2>&1 || {
    cat "$PG_BASE/initdb.log" >&2
    die "initdb failed"
  }
  mv "$tmp" "$PG_DATA"
}

write_config() {
  local conf="$PG_DATA/paystream.conf"
  cat >"$conf.tmp" <<EOF
# Generated by deploy/local/postgres.sh at each 'up'; included from postgresql.conf.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  mv "$conf.tmp" "$conf"
  if ! grep -q "^include_if_exists = 'paystream.conf'" "$PG_DATA/postgresql.conf"; then
    printf "\n# Local settings for paystream (deploy/local/postgres.sh)\ninclude_if_exists = 'paystream.conf'\n" \
      >>"$PG_DATA/postgresql.conf"
  fi
  if is_root; then
    chown "$PG_OS_USER:" "$conf" "$PG_DATA/postgresql.conf"
  fi
}

start_server() {
  local attempt
  for attempt in 1 2; do
    # 9>&-: the server must not inherit (and so hold) our lock file.
    if as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start >&2 9>&-; then
      return 0
    fi
    log "pg_ctl start failed (attempt $attempt)"
    # After a SIGKILL of the postmaster its children may hold shared memory
    # for a moment; give them time to notice and exit.
    sleep 3
  done
  log "last lines of $PG_LOG:"
  tail -n 30 "$PG_LOG" >&2 || true
  die "could not start PostgreSQL"
}

ensure_role_and_db() {
  # Trust authentication over TCP: no need to switch OS user for psql.
  "$PG_BIN_DIR/psql" -w -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -v role="$PG_USER" -v db="$PG_DB" >&2 <<'SQL' || die "could not create role/database"
SELECT format('CREATE ROLE %I LOGIN CREATEDB SUPERUSER', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
}

# --- commands ------------------------------------------------------------------------------

cmd_up() {
  resolve_dirs
  local pid
  pid="$(our_postmaster_pid)"
  if [ -z "$pid" ] && app_connect_ok; then
    log "a PostgreSQL server already answers as $PG_USER@127.0.0.1:$PG_PORT/$PG_DB (not ours); using it"
    return 0
  fi
  if [ -n "$pid" ] && app_connect_ok; then
    log "already running (pid $pid), $PG_USER@127.0.0.1:$PG_PORT/$PG_DB answers"
    return 0
  fi

  ensure_os_user
  ensure_server_installed

  if [ -z "$pid" ] && tcp_open 127.0.0.1 "$PG_PORT"; then
    log "port $PG_PORT is taken by a server that does not accept $PG_USER@$PG_DB"
    stop_debian_clusters 0
    wait_for 10 "port $PG_PORT to be free" port_free ||
      die "another server listens on 127.0.0.1:$PG_PORT and does not accept $PG_USER@$PG_DB; stop it or set PG_PORT"
  fi

  init_once
  write_config
  if [ -z "$pid" ]; then
    log "starting PostgreSQL $(major_of "$PG_BIN_DIR") on 127.0.0.1:$PG_PORT (data $PG_DATA, log $PG_LOG)"
    start_server
  fi
  if ! wait_for "$INFRA_TIMEOUT" "PostgreSQL to accept connections" \
    "$PG_BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL does not accept connections"
  fi
  ensure_role_and_db
  app_connect_ok || die "PostgreSQL runs but $PG_USER@127.0.0.1:$PG_PORT/$PG_DB does not accept connections"
  log "PostgreSQL is ready: postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB"
}

cmd_down() {
  resolve_dirs
  local pid
  pid="$(our_postmaster_pid)"
  if [ -z "$pid" ]; then
    if tcp_open 127.0.0.1 "$PG_PORT"; then
      log "not running from $PG_DATA; port $PG_PORT is served by another server (left alone)"
    else
      log "not running"
    fi
    return 0
  fi
  PG_BIN_DIR="$(find_server_bin "$(tr -dc '0-9' <"$PG_DATA/PG_VERSION")")"
  [ -n "$PG_BIN_DIR" ] || die "cannot find pg_ctl for the running server"
  log "stopping PostgreSQL (pid $pid)"
  if ! as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 -s stop >&2; then
    log "fast shutdown failed; trying immediate"
    as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 -s stop >&2 ||
      die "could not stop PostgreSQL (pid $pid)"
  fi
  log "stopped"
}

cmd_kill() {
  resolve_dirs
  local pid
  pid="$(our_postmaster_pid)"
  if [ -z "$pid" ]; then
    log "not running"
    return 0
  fi
  log "SIGKILL to the postmaster (pid $pid)"
  kill -KILL "$pid"
  wait_exit "$pid" 10 postmaster || true
}

cmd_status() {
  resolve_dirs
  local pid
  pid="$(our_postmaster_pid)"
  if [ -n "$pid" ]; then
    echo "postgres: running (pid $pid), data $PG_DATA, log $PG_LOG"
  else
    echo "postgres: not running from $PG_DATA"
  fi
  if app_connect_ok; then
    echo "postgres: $PG_USER@127.0.0.1:$PG_PORT/$PG_DB answers (DATABASE_URL=$DATABASE_URL)"
    return 0
  fi
  if tcp_open 127.0.0.1 "$PG_PORT"; then
    echo "postgres: a server answers on 127.0.0.1:$PG_PORT but not as $PG_USER/$PG_DB"
  else
    echo "postgres: nothing answers on 127.0.0.1:$PG_PORT"
  fi
  return 1
}

dispatch "$PG_STATE_DIR/.lock" "up down restart kill status" "$@"
