#!/usr/bin/env bash
# Stops the local infrastructure and deletes its data: Kafka's log dirs and
# cluster id, the PostgreSQL data dir (also when it lives under /var/tmp, see
# postgres.sh) and the logs. KEEPS the downloaded Kafka jars
# ($STATE_DIR/kafka/libs-*) so that the next 'infra-up.sh' is fast.
set -euo pipefail
LOG_PREFIX=clean
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

"$DEPLOY_DIR/infra-down.sh"

# Guard against a misconfigured STATE_DIR before deleting anything.
case "$STATE_DIR" in
  "" | / | "$HOME" | "$ROOT") die "refusing to clean STATE_DIR='$STATE_DIR'" ;;
esac

if [ -d "$KAFKA_DIR" ]; then
  log "removing Kafka data in $KAFKA_DIR (keeping the jars)"
  rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/cluster.id" "$KAFKA_DIR/server.properties" \
    "$KAFKA_DIR/kafka.log" "$KAFKA_DIR/kafka.log.1" "$KAFKA_DIR/kafka.pid" \
    "$KAFKA_DIR/probe-client.properties"
  # Half-finished jar downloads, if any.
  find "$KAFKA_DIR" -maxdepth 1 -name 'libs-*.tmp.*' -exec rm -rf {} +
fi

if [ -L "$PG_STATE_DIR/data" ]; then
  target="$(readlink -- "$PG_STATE_DIR/data")"
  base="$(dirname -- "$target")"
  case "$base" in
    /var/tmp/paystream-pg-*)
      log "removing PostgreSQL files in $base"
      rm -rf "$base"
      ;;
    *) log "not removing $target (unexpected location); remove it by hand" ;;
  esac
fi
if [ -e "$PG_STATE_DIR" ] || [ -L "$PG_STATE_DIR/data" ]; then
  log "removing PostgreSQL data in $PG_STATE_DIR"
  rm -rf "$PG_STATE_DIR"
fi
log "clean"
