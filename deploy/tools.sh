#!/usr/bin/env bash
# The command-line tools the deployment files are checked with, pinned and built from the Go
# module proxy (neither is packaged by Debian):
#
#   deploy/tools.sh install        build what is missing (make deploy-tools; make test runs it)
#   deploy/tools.sh path NAME      print the pinned binary's path, or nothing when not built
#
# - kustomize: builds deploy/kubernetes/ (`kubectl kustomize` is the same code inside kubectl).
# - promtool: checks the Prometheus config and runs the alert rule tests
#   (deploy/prometheus/tests/); the Go module version v0.3MM.P is Prometheus 3.MM.P.
#
# The binaries are kept in $TOOLS_DIR (~/.cache/paystream/tools), outside the clone, so that a
# fresh clone does not pay the builds again (kustomize ~1 minute, promtool ~5 minutes on 2
# cores). Without Go 1.26, nothing is built and the tests that need a tool skip, saying so.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"
PROMTOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"
TOOLS_DIR="${TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/paystream/tools}"

declare -A MODULES=(
  [kustomize]="sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  [promtool]="github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
)
declare -A VERSIONS=([kustomize]="$KUSTOMIZE_VERSION" [promtool]="$PROMTOOL_VERSION")

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

binary() { echo "$TOOLS_DIR/$1-${VERSIONS[$1]}/$1"; }

build() {
  local name="$1" bin
  bin="$(binary "$name")"
  [[ -x $bin ]] && return 0
  mkdir -p "$TOOLS_DIR"
  (
    # One build at a time per tool (two clones sharing the cache, or a retry while one runs).
    flock -w 900 9 || { log "could not get the $name build lock within 900 s"; exit 1; }
    [[ -x $bin ]] && exit 0
    log "building $name ${VERSIONS[$name]} from the Go module proxy (a few minutes, once)"
    # GOFLAGS=-mod=mod: never pick up a vendor folder or workspace from the caller's directory.
    if ! GOBIN="$(dirname "$bin")" GOFLAGS=-mod=mod GOWORK=off \
        timeout 1200 go install -trimpath "${MODULES[$name]}" >"$TOOLS_DIR/$name.log" 2>&1; then
      tail -20 "$TOOLS_DIR/$name.log" >&2
      log "building $name failed (log: $TOOLS_DIR/$name.log)"
      exit 1
    fi
    log "$name: $bin"
  ) 9>"$TOOLS_DIR/$name.lock"
}

case "${1:-}" in
  install)
    # The Go toolchain from go.dev installs to /usr/local/go, not always on PATH.
    [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"
    if ! command -v go >/dev/null; then
      log "go not found: kustomize and promtool are not built; their tests will skip" \
        "(install Go 1.26+ from go.dev, then run make deploy-tools)"
      exit 0
    fi
    for name in kustomize promtool; do
      build "$name" || log "$name is not available; its tests will skip"
    done
    ;;
  path)
    bin="$(binary "${2:?usage: $0 path kustomize|promtool}")"
    [[ -x $bin ]] && echo "$bin"
    exit 0
    ;;
  *)
    echo "usage: $0 install | path kustomize|promtool" >&2
    exit 2
    ;;
esac
