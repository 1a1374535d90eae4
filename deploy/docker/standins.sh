#!/usr/bin/env bash
# Builds local stand-ins for the images docker-compose.yml pulls, for machines that cannot
# reach Docker Hub (CI, these dev machines). They are for proving the compose file here, not
# for users: docker-compose.yml keeps the official images, and
# deploy/docker/compose.standins.yml swaps these in (`make compose-test` does both).
#
#   deploy/docker/standins.sh          build what is missing or out of date (cached)
#   deploy/docker/standins.sh --list   print the stand-in image names
#
# Each image keeps the contract the compose file relies on (see the Dockerfiles under
# deploy/docker/standins/): Kafka from Apache's Maven jars, PostgreSQL, Prometheus and Python
# from Debian bookworm packages, all on one base made with debootstrap from the machine's own
# Debian mirror. The base carries the host's CA bundle, because the package registries are
# reached through a TLS-inspecting proxy here; no image a user pulls or builds contains it.
#
# Cache: an image is rebuilt only when its files (or the base) changed; the label
# paystream.standin.digest records what it was built from. Docker's layer cache makes a
# rebuild of an unchanged Dockerfile cheap anyway.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STATE_DIR="${STATE_DIR:-$ROOT/.local}"
HERE="$ROOT/deploy/docker/standins"
WORK="$STATE_DIR/docker/standins"
SUITE=bookworm
BASE=paystream-standin/base:$SUITE
# Bump when build_base below changes: the base is rebuilt only when this or the CA bundle does.
BASE_RECIPE=1
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
# name:tag -> folder under deploy/docker/standins/
declare -A IMAGES=(
  [paystream-standin/python:3.11]=python
  [paystream-standin/kafka:$KAFKA_VERSION]=kafka
  [paystream-standin/postgres:15]=postgres
  [paystream-standin/prometheus:2]=prometheus
)

log() { printf '[standins %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "$BASE" "${!IMAGES[@]}"
  exit 0
fi

label() { docker image inspect --format "{{ index .Config.Labels \"paystream.standin.digest\" }}" "$1" 2>/dev/null || true; }

# The first Debian mirror the host's apt uses for this suite (deb822 or one-line format).
debian_mirror() {
  local uri
  uri="$(awk -v suite="$SUITE" '
    /^URIs:/ { uris = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) print uris }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 '/debian/*$' || true)"
  if [[ -z $uri ]]; then
    uri="$(awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
  local ca=/etc/ssl/certs/ca-certificates.crt
  [[ -s $ca ]] || die "no CA bundle at $ca"
  local digest
  digest="$( (echo "$SUITE $BASE_RECIPE"; cat "$ca") | sha256sum | cut -c1-16)"
  [[ $(label "$BASE") == "$digest" ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
  }
  local mirror rootfs="$WORK/rootfs"
  mirror="$(debian_mirror)"
  log "debootstrap --variant=minbase $SUITE from $mirror (about a minute)"
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $WORK/debootstrap.log"
  # Small and quiet like Debian's own container images: no docs, no apt caches, services never
  # started by package scripts, no recommends.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/docker-slim"
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod +x "$rootfs/usr/sbin/policy-rc.d"
  mkdir -p "$rootfs/usr/local/share/paystream-standin"
  cp "$ca" "$rootfs/usr/local/share/paystream-standin/ca-bundle.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  log "importing $BASE"
  tar -C "$rootfs" -c . | docker import \
    --change "LABEL paystream.standin.digest=$digest" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV DEBIAN_FRONTEND=noninteractive' \
    --change 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
}

# Kafka's jars, resolved by the same pom the Docker-free path uses (deploy/local/kafka.sh).
kafka_libs() {
  local libs="$STATE_DIR/kafka/libs-$KAFKA_VERSION"
  [[ -f $libs/.complete ]] || STATE_DIR="$STATE_DIR" KAFKA_VERSION="$KAFKA_VERSION" \
    "$ROOT/deploy/local/kafka.sh" libs
  [[ -f $libs/.complete ]] || die "no Kafka jars in $libs"
  echo "$libs"
}

build_image() {
  local image="$1" folder="$HERE/$2" context digest
  context="$WORK/context-$2"
  rm -rf "$context" && mkdir -p "$context"
  cp -a "$folder/." "$context/"
  if [[ $2 == kafka ]]; then
    mkdir -p "$context/libs"
    cp "$(kafka_libs)"/*.jar "$context/libs/"
  fi
  digest="$( (label "$BASE"; cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16)"
  if [[ $(label "$image") == "$digest" ]]; then
    rm -rf "$context"
    return 0
  fi
  log "building $image"
  docker build -q --force-rm --build-arg "BASE=$BASE" --label "paystream.standin.digest=$digest" \
    -t "$image" "$context" >"$WORK/build-$2.log" 2>&1 ||
    { tail -30 "$WORK/build-$2.log" >&2; die "building $image failed; see $WORK/build-$2.log"; }
  rm -rf "$context"
}

mkdir -p "$WORK"
docker info >/dev/null 2>&1 || die "no Docker engine answers (deploy/docker/engine.sh up)"
build_base
kafka_libs >/dev/null  # resolved once, before the parallel builds that copy them
# In parallel: each build spends most of its time waiting on the Debian mirror.
pids=()
for image in "${!IMAGES[@]}"; do
  build_image "$image" "${IMAGES[$image]}" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
((failed == 0)) || die "a stand-in failed to build (see above)"
# Superseded stand-ins (a rebuild leaves the old one untagged).
docker image prune -f --filter label=paystream.standin.digest >/dev/null
log "ready: $(for i in "$BASE" "${!IMAGES[@]}"; do
  printf '%s %s, ' "$i" "$(docker image inspect --format '{{.Size}}' "$i" | awk '{printf "%.0f MB", $1/1e6}')"
done | sed 's/, $//')"
