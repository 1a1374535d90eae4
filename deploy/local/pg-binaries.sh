# shellcheck shell=bash
# The PostgreSQL installation used by postgres.sh: which server binaries to run (the newest,
# or the data dir's own major version), installing Debian's package when missing (as root),
# and running commands as the 'postgres' OS user (PostgreSQL refuses to run as root).
# Sourced by postgres.sh after env.sh; sets PG_BIN_DIR in ensure_server_installed.
# --- running things as the postgres OS user ------------------------------------

# as_pg CMD... : run CMD as the postgres OS user when we are root, else as us.
as_pg() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

ensure_os_user() {
  is_root || return 0
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    log "creating system user '$PG_OS_USER'"
    useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
      --shell /bin/sh "$PG_OS_USER" || die "could not create user $PG_OS_USER"
  fi
}

# --- finding binaries --------------------------------------------------------------

# major_of BINDIR : PostgreSQL major version of the binaries in BINDIR.
major_of() {
  # "pg_ctl (PostgreSQL) 15.18 (Debian ...)" -> 15
  "$1/pg_ctl" --version 2>/dev/null |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]/) { split($i, v, "."); print v[1]; exit } }'
}

# Prints "MAJOR BINDIR" lines for every server installation found.
server_candidates() {
  local d seen=" "
  local initdb_path
  initdb_path="$(command -v initdb 2>/dev/null || true)"
  {
    if [ -n "${PG_BIN:-}" ]; then
      echo "$PG_BIN"
    fi
    if [ -n "$initdb_path" ]; then
      dirname -- "$(readlink -f -- "$initdb_path")"
    fi
    for d in /usr/lib/postgresql/*/bin; do
      if [ -d "$d" ]; then
        echo "$d"
      fi
    done
  } | while read -r d; do
    case "$seen" in *" $d "*) continue ;; esac
    seen="$seen$d "
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$(major_of "$d") $d"
    fi
  done
}

# find_server_bin [MAJOR] : bin dir of the highest installed version, or of
# MAJOR exactly when given (an existing data dir needs its own major version).
find_server_bin() {
  local want="${1:-}"
  server_candidates | sort -k1,1nr | while read -r major dir; do
    if [ -z "$want" ] || [ "$major" = "$want" ]; then
      echo "$dir"
      break
    fi
  done
}

# find_client NAME : a client program (psql, pg_isready) of our server, on PATH or of the
# newest installed server, or empty.
find_client() {
  local d
  for d in "$PG_BIN_DIR" "$(dirname -- "$(command -v "$1" 2>/dev/null || echo /nonexistent/"$1")")" \
    "$(find_server_bin)"; do
    if [ -n "$d" ] && [ -x "$d/$1" ]; then
      echo "$d/$1"
      return 0
    fi
  done
}

# --- installation --------------------------------------------------------------------

# Debian's postgresql package creates and starts a "main" cluster. Stop the
# clusters listening on our port (all of them when ALL=1, i.e. right after we
# installed the package ourselves). Best effort.
stop_debian_clusters() {
  local all="${1:-0}"
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  is_root || return 0
  local ver name port status _
  while read -r ver name port status _; do
    case "$status" in online*) ;; *) continue ;; esac
    if [ "$all" = 1 ] || [ "$port" = "$PG_PORT" ]; then
      log "stopping Debian cluster $ver/$name on port $port (it would get in the way)"
      pg_ctlcluster "$ver" "$name" stop -m fast >&2 2>&1 || log "could not stop cluster $ver/$name"
    fi
  done < <(pg_lsclusters -h 2>/dev/null || true)
}

ensure_server_installed() {
  local want="" dir
  if [ -f "$PG_DATA/PG_VERSION" ]; then
    want="$(tr -dc '0-9' <"$PG_DATA/PG_VERSION")"
  fi
  dir="$(find_server_bin "$want")"
  if [ -z "$dir" ] && [ -z "$(find_server_bin)" ]; then
    log "PostgreSQL server binaries not found (PATH, /usr/lib/postgresql/*/bin)"
    apt_install postgresql
    stop_debian_clusters 1
    dir="$(find_server_bin "$want")"
  fi
  if [ -z "$dir" ]; then
    if [ -n "$want" ]; then
      die "the data dir $PG_DATA is for PostgreSQL $want, which is not installed (found: $(find_server_bin)); run deploy/local/clean.sh to start afresh"
    fi
    die "PostgreSQL server binaries still not found after installation"
  fi
  PG_BIN_DIR="$dir"
}
