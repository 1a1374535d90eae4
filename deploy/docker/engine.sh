#!/usr/bin/env bash
# Makes `docker compose` usable on a Debian machine without Docker Desktop, the way
# deploy/local/ installs PostgreSQL: whatever is missing is installed (as root), nothing that
# works is touched.
#
#   deploy/docker/engine.sh up     # engine + compose v2 present and the daemon answering
#   deploy/docker/engine.sh down   # stop the daemon, if this script started it
#
# - The engine: Debian's docker.io (dockerd), started by hand when no init system runs it.
# - Compose v2: not packaged by Debian (its docker-compose 1.29 rejects a top-level `name:`), so
#   it is built from the Go module proxy. `go install` refuses this module (its go.mod has
#   exclude directives), hence a throwaway module that requires it. The binary is kept in
#   $COMPOSE_CACHE (~/.cache/paystream) so that reinstalling it, from this clone or a fresh
#   one, does not pay the ~2 minute build again.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STATE_DIR="${STATE_DIR:-$ROOT/.local}"
DOCKER_STATE="$STATE_DIR/docker"
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.39.2}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
COMPOSE_CACHE="${COMPOSE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/paystream}"
DOCKERD_PID="$DOCKER_STATE/dockerd.pid"
DOCKERD_LOG="$DOCKER_STATE/dockerd.log"

log() { printf '[engine %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_root() {
  [[ $(id -u) -eq 0 ]] || die "$1 needs root (run as root, or install it yourself)"
}

install_engine() {
  command -v dockerd >/dev/null && return 0
  need_root "installing docker.io"
  log "installing docker.io from the Debian archive"
  # Another apt run (a neighbour's install) may hold the lock for a while: wait, bounded.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    docker.io iptables >/dev/null
}

daemon_answers() { docker info >/dev/null 2>&1; }

start_daemon() {
  daemon_answers && return 0
  need_root "starting dockerd"
  mkdir -p "$DOCKER_STATE"
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid: the daemon outlives this script and make; its pid is kept for `down`.
  setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  echo $! >"$DOCKERD_PID"
  local deadline=$((SECONDS + 60))
  until daemon_answers; do
    kill -0 "$(cat "$DOCKERD_PID")" 2>/dev/null || die "dockerd exited; see $DOCKERD_LOG"
    ((SECONDS < deadline)) || die "dockerd did not answer within 60 s; see $DOCKERD_LOG"
    sleep 0.5
  done
}

install_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  need_root "installing the compose plugin"
  local bin="$COMPOSE_CACHE/compose-$COMPOSE_VERSION/docker-compose"
  mkdir -p "$COMPOSE_CACHE"
  (
    # One build at a time (two checkouts sharing STATE_DIR, or a retry while one runs).
    flock -w 900 9 || die "could not get the compose build lock within 900 s"
    [[ -x $bin ]] && exit 0
    # The Go toolchain from go.dev installs to /usr/local/go, not always on PATH.
    [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"
    command -v go >/dev/null || die "Go 1.23+ is needed to build compose $COMPOSE_VERSION"
    local src="$COMPOSE_CACHE/compose-$COMPOSE_VERSION/src"
    rm -rf "$src" && mkdir -p "$src"
    log "building compose $COMPOSE_VERSION from the Go module proxy (about 2 minutes)"
    cd "$src"
    go mod init paystream.local/compose >/dev/null 2>&1
    go get "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION" >/dev/null 2>&1 ||
      die "go get github.com/docker/compose/v2/cmd@$COMPOSE_VERSION failed"
    go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$bin.tmp" github.com/docker/compose/v2/cmd || die "the compose build failed"
    mv "$bin.tmp" "$bin"
  ) 9>"$COMPOSE_CACHE/compose-build.lock"
  install -D -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
  docker compose version >/dev/null || die "docker compose does not run after installing it"
}

case "${1:-up}" in
  up)
    install_engine
    start_daemon
    install_compose
    log "$(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose /')"
    ;;
  down)
    if [[ -f $DOCKERD_PID ]] && kill -0 "$(cat "$DOCKERD_PID")" 2>/dev/null; then
      log "stopping dockerd"
      kill "$(cat "$DOCKERD_PID")"
      for _ in $(seq 1 60); do kill -0 "$(cat "$DOCKERD_PID")" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$DOCKERD_PID"
    ;;
  *) die "usage: $0 up|down" ;;
esac
