#!/usr/bin/env bash
# Single-node Apache Kafka broker (KRaft, combined broker+controller) without
# Docker and without the Kafka tarball: the jars come from Maven Central via
# deploy/local/kafka/pom.xml and the broker runs as a plain java process.
#
# Usage: deploy/local/kafka.sh {up|down|restart|status|libs}
#   up       download jars if needed, format storage once, start, wait until ready
#   down     stop the broker (SIGTERM, then SIGKILL after 30 s); keeps data
#   restart  down then up
#   status   print whether the broker runs / answers (exit 0 if it answers)
#   libs     only make sure the jars are present (used by kafka-tool.sh)
#
# State under $STATE_DIR/kafka/: libs-<version>/ (jars, kept by clean.sh),
# data/ (log.dirs), cluster.id, server.properties, kafka.log, kafka.pid.
set -euo pipefail
LOG_PREFIX=kafka
# shellcheck source-path=SCRIPTDIR source=kafka-node.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/kafka-node.sh"

PID_FILE="$KAFKA_DIR/kafka.pid"
LOG_FILE="$KAFKA_DIR/kafka.log"
PROPS="$KAFKA_DIR/server.properties"
DATA_DIR="$KAFKA_DIR/data"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
POM="$DEPLOY_DIR/kafka/pom.xml"
# Marker on the broker's command line, to recognise our own process.
MARKER="-Dpaystream.local.kafka.dir=$KAFKA_DIR"
COMPLETE_MARK="$KAFKA_LIBS/.complete"

mkdir -p "$KAFKA_DIR"

# --- jars --------------------------------------------------------------------

ensure_libs() {
  [ -f "$COMPLETE_MARK" ] && return 0
  require_java
  if ! command -v mvn >/dev/null 2>&1; then
    apt_install maven
  fi
  (
    # One resolver at a time (kafka.sh up and a tool may race on a fresh clone).
    flock -w 600 8 || die "could not get the jar download lock within 600s"
    [ -f "$COMPLETE_MARK" ] && exit 0
    local tmp="$KAFKA_LIBS.tmp.$$"
    rm -rf "$tmp"
    log "resolving Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS (first time only)"
    local attempt ok=0
    for attempt in 1 2; do
      if timeout 540 mvn -q -B -Dstyle.color=never -f "$POM" \
        -Dkafka.version="$KAFKA_VERSION" -Dscala.binary.version="$SCALA_VERSION" \
        -Dkafka.logging="$KAFKA_LOGGING" \
        -Dlibs.dir="$tmp" dependency:copy-dependencies 2>&1 |
        sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
        ok=1
        break
      fi
      log "Maven resolution attempt $attempt failed"
      rm -rf "$tmp"
    done
    [ "$ok" = 1 ] || die "could not resolve the Kafka jars with Maven (see output above)"
    compgen -G "$tmp/kafka_*.jar" >/dev/null || die "Maven ran but no kafka_*.jar in $tmp"
    rm -rf "$KAFKA_LIBS"
    touch "$tmp/.complete"
    mv "$tmp" "$KAFKA_LIBS"
    log "jars ready: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) files in $KAFKA_LIBS"
  ) 8>"$KAFKA_DIR/.libs.lock"
}

# --- probes ------------------------------------------------------------------

client_works() {
  kafka_answers "127.0.0.1:$KAFKA_PORT" "$KAFKA_DIR/probe-client.properties"
}

broker_ready() {
  grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null && tcp_open 127.0.0.1 "$KAFKA_PORT" && client_works
}

wait_ready() {
  wait_started "$INFRA_TIMEOUT" "Kafka on 127.0.0.1:$KAFKA_PORT" "$1" "$LOG_FILE" broker_ready
  log "Kafka is ready on 127.0.0.1:$KAFKA_PORT (pid $1)"
}

# --- configuration -------------------------------------------------------------

# One node, broker and controller: one replica of everything.
write_config() {
  write_node_config "$PROPS" 1 "1@127.0.0.1:$KAFKA_CONTROLLER_PORT" "$KAFKA_PORT" \
    "$KAFKA_CONTROLLER_PORT" "$DATA_DIR" <<EOF
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
num.io.threads=4
num.recovery.threads.per.data.dir=2
EOF
}

# --- commands --------------------------------------------------------------------

cmd_libs() {
  ensure_libs
}

cmd_up() {
  local pid
  pid="$(tracked_pid "$PID_FILE" "$MARKER" broker)"
  if [ -n "$pid" ]; then
    log "broker already running (pid $pid)"
    # Only skip the log check if this broker finished starting in an earlier run.
    wait_ready "$pid"
    return 0
  fi

  ensure_libs

  if tcp_open 127.0.0.1 "$KAFKA_PORT"; then
    log "port $KAFKA_PORT is already served by another process (not started by these scripts)"
    if wait_for 30 "Kafka client request on 127.0.0.1:$KAFKA_PORT" client_works; then
      log "it answers Kafka requests; using it"
      return 0
    fi
    die "something listens on 127.0.0.1:$KAFKA_PORT but does not answer as Kafka; stop it or set KAFKA_PORT"
  fi
  if tcp_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT"; then
    die "controller port 127.0.0.1:$KAFKA_CONTROLLER_PORT is in use by another process; stop it or set KAFKA_CONTROLLER_PORT"
  fi

  require_java
  write_config
  format_node_once broker "$DATA_DIR" "$PROPS" "$CLUSTER_ID_FILE"

  rotate_log "$LOG_FILE"
  log "starting Kafka $KAFKA_VERSION (heap $KAFKA_HEAP), log: $LOG_FILE"
  pid="$(start_tracked "$PID_FILE" "$LOG_FILE" broker \
    java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" "${KAFKA_JVM_FLAGS[@]}" \
    "$MARKER" \
    "$BROKER_LOG_FLAG" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$PROPS")"
  wait_ready "$pid"
}

cmd_down() {
  stop_tracked "$PID_FILE" "$MARKER" broker && return 0
  if tcp_open 127.0.0.1 "$KAFKA_PORT"; then
    log "not running here; port $KAFKA_PORT is served by another process (left alone)"
  else
    log "not running"
  fi
}

cmd_status() {
  local pid
  pid="$(tracked_pid "$PID_FILE" "$MARKER" broker)"
  if [ -n "$pid" ]; then
    echo "kafka: running (pid $pid), log $LOG_FILE"
  else
    echo "kafka: not running from $KAFKA_DIR"
  fi
  if tcp_open 127.0.0.1 "$KAFKA_PORT"; then
    echo "kafka: 127.0.0.1:$KAFKA_PORT answers (KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS)"
    return 0
  fi
  echo "kafka: 127.0.0.1:$KAFKA_PORT does not answer"
  return 1
}

dispatch "$KAFKA_DIR/.lock" "up down restart status libs" "$@"
