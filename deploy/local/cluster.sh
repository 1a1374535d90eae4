#!/usr/bin/env bash
# A local three-node Apache Kafka cluster (KRaft, each node broker + controller) on
# 127.0.0.1, from the same Maven jars as the single broker (kafka.sh) and beside it.
#
# Usage: deploy/local/cluster.sh COMMAND [NODE]
#   up           format storage once, start the nodes not running, wait until all answer
#   down         stop all three (SIGTERM, SIGKILL after 30 s); data stays
#   status       which nodes run and answer (exit 0 if all three answer)
#   bootstrap    print the bootstrap list (for KAFKA_BOOTSTRAP_SERVERS)
#   start N      start node N (1-3) and wait until it answers
#   stop N       graceful stop of node N
#   kill N       SIGKILL node N (crash simulation; 'start N' recovers it)
#
# Ports (environment): CLUSTER_BROKER_PORTS (default 19092,19093,19094) and
# CLUSTER_CONTROLLER_PORTS (default 19192,19193,19194): apart from the single broker's
# 9092/9093 so both can run at once. CLUSTER_KAFKA_HEAP (default 768m) per node: three
# nodes take about 2.5 GiB, comfortable on a 24 GiB machine; two cores are the tighter
# limit, hence few network/IO threads. State: $STATE_DIR/kafka-cluster/node{1,2,3}/.
set -euo pipefail
LOG_PREFIX=cluster
# shellcheck source-path=SCRIPTDIR source=kafka-node.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/kafka-node.sh"

CLUSTER_BROKER_PORTS="${CLUSTER_BROKER_PORTS:-19092,19093,19094}"
CLUSTER_CONTROLLER_PORTS="${CLUSTER_CONTROLLER_PORTS:-19192,19193,19194}"
CLUSTER_KAFKA_HEAP="${CLUSTER_KAFKA_HEAP:-768m}"
CLUSTER_DIR="$STATE_DIR/kafka-cluster"
IFS=, read -r -a BROKER_PORTS <<<"$CLUSTER_BROKER_PORTS"
IFS=, read -r -a CONTROLLER_PORTS <<<"$CLUSTER_CONTROLLER_PORTS"
NODES=(1 2 3)
[ "${#BROKER_PORTS[@]}" -eq 3 ] && [ "${#CONTROLLER_PORTS[@]}" -eq 3 ] ||
  die "CLUSTER_BROKER_PORTS and CLUSTER_CONTROLLER_PORTS must each list three ports"
mkdir -p "$CLUSTER_DIR"

node_dir() { echo "$CLUSTER_DIR/node$1"; }
broker_port() { echo "${BROKER_PORTS[$(($1 - 1))]}"; }
controller_port() { echo "${CONTROLLER_PORTS[$(($1 - 1))]}"; }
marker() { echo "-Dpaystream.local.kafka.dir=$(node_dir "$1")"; }
node_pid() { tracked_pid "$(node_dir "$1")/kafka.pid" "$(marker "$1")" "node $1"; }

bootstrap() {
  local n out=""
  for n in "${NODES[@]}"; do out+="${out:+,}127.0.0.1:$(broker_port "$n")"; done
  echo "$out"
}

voters() {
  local n out=""
  for n in "${NODES[@]}"; do out+="${out:+,}$n@127.0.0.1:$(controller_port "$n")"; done
  echo "$out"
}

write_config() { # node
  local n="$1" dir
  dir="$(node_dir "$n")"
  mkdir -p "$dir"
  write_node_config "$dir/server.properties" "$n" "$(voters)" "$(broker_port "$n")" \
    "$(controller_port "$n")" "$dir/data" <<EOF
# Every write acknowledged by acks=all is on at least two disks; one node may be down.
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
num.io.threads=3
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
EOF
}

format_once() { # node
  local dir
  dir="$(node_dir "$1")"
  format_node_once "node $1" "$dir/data" "$dir/server.properties" "$CLUSTER_DIR/cluster.id"
}

launch() { # node
  local n="$1" dir pid
  dir="$(node_dir "$n")"
  pid="$(node_pid "$n")"
  if [ -n "$pid" ]; then
    return 0
  fi
  tcp_open 127.0.0.1 "$(broker_port "$n")" &&
    die "port $(broker_port "$n") is in use by another process; set CLUSTER_BROKER_PORTS"
  write_config "$n"
  format_once "$n"
  [ -f "$dir/kafka.log" ] && mv -f "$dir/kafka.log" "$dir/kafka.log.1"
  log "starting node $n on 127.0.0.1:$(broker_port "$n") (heap $CLUSTER_KAFKA_HEAP)"
  # shellcheck disable=SC2016 # $$/$1/$@ expand in the inner bash
  nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$dir/kafka.pid" \
    java -Xms"$CLUSTER_KAFKA_HEAP" -Xmx"$CLUSTER_KAFKA_HEAP" "${KAFKA_JVM_FLAGS[@]}" \
    -XX:CICompilerCount=2 "$(marker "$n")" "$BROKER_LOG_FLAG" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 50); do
    [ -s "$dir/kafka.pid" ] && return 0
    sleep 0.1
  done
  die "node $n did not write its pid file"
}

node_ready() { # node
  local n="$1" dir
  dir="$(node_dir "$n")"
  [ -n "$(node_pid "$n")" ] || { tail -n 30 "$dir/kafka.log" >&2; die "node $n exited"; }
  grep -q 'Kafka Server started' "$dir/kafka.log" 2>/dev/null || return 1
  tcp_open 127.0.0.1 "$(broker_port "$n")"
}

# A real round trip through the admin API that needs the quorum and all three brokers.
cluster_answers() {
  kafka_answers "$(bootstrap)" "$CLUSTER_DIR/probe.properties"
}

wait_node() { # node
  wait_for "$INFRA_TIMEOUT" "node $1 on 127.0.0.1:$(broker_port "$1")" node_ready "$1" ||
    die "node $1 did not start within ${INFRA_TIMEOUT}s (log: $(node_dir "$1")/kafka.log)"
}

cmd_up() {
  "$DEPLOY_DIR/kafka.sh" libs
  require_java
  local n
  # All three at once: a node cannot finish starting without a quorum of controllers.
  for n in "${NODES[@]}"; do launch "$n"; done
  for n in "${NODES[@]}"; do wait_node "$n"; done
  wait_for "$INFRA_TIMEOUT" "the cluster to answer" cluster_answers || die "cluster does not answer"
  log "cluster ready: KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)"
}

cmd_down() {
  local n pid stopped=0
  # SIGTERM to all first: they shut down together instead of waiting on each other.
  for n in "${NODES[@]}"; do
    pid="$(node_pid "$n")"
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for n in "${NODES[@]}"; do
    pid="$(node_pid "$n")"
    if [ -n "$pid" ]; then
      stop_process "$pid" "node $n"
      stopped=1
    fi
    rm -f "$(node_dir "$n")/kafka.pid"
  done
  if [ "$stopped" = 1 ]; then log "stopped"; fi
}

cmd_status() {
  local n pid rc=0
  for n in "${NODES[@]}"; do
    pid="$(node_pid "$n")"
    if [ -n "$pid" ] && tcp_open 127.0.0.1 "$(broker_port "$n")"; then
      echo "node $n: running (pid $pid) on 127.0.0.1:$(broker_port "$n")"
    else
      echo "node $n: not running"
      rc=1
    fi
  done
  echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)"
  return "$rc"
}

node_arg() {
  case "${1:-}" in 1 | 2 | 3) echo "$1" ;; *) die "name a node: 1, 2 or 3" ;; esac
}

with_lock() {
  exec 9>"$CLUSTER_DIR/.lock"
  flock -w $((INFRA_TIMEOUT + 60)) 9 || die "another cluster.sh is running"
  "$@"
}

case "${1:-}" in
  up) with_lock cmd_up ;;
  down) with_lock cmd_down ;;
  status) cmd_status ;;
  bootstrap) bootstrap ;;
  start) n="$(node_arg "${2:-}")" && with_lock launch "$n" && wait_node "$n" ;;
  stop)
    n="$(node_arg "${2:-}")"
    pid="$(node_pid "$n")"
    [ -z "$pid" ] || stop_process "$pid" "node $n"
    rm -f "$(node_dir "$n")/kafka.pid"
    ;;
  kill)
    n="$(node_arg "${2:-}")"
    pid="$(node_pid "$n")"
    if [ -n "$pid" ]; then
      kill -KILL "$pid"
      # shellcheck disable=SC2016 # $1 expands in the inner bash
      wait_for 10 "node $n to die" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid" || true
      log "node $n killed (pid $pid)"
    fi
    rm -f "$(node_dir "$n")/kafka.pid"
    ;;
  *)
    echo "usage: $0 {up|down|status|bootstrap|start N|stop N|kill N}" >&2
    exit 2
    ;;
esac
