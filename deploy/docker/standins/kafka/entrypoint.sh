#!/bin/bash
# apache/kafka's contract: KAFKA_FOO_BAR=x becomes foo.bar=x (`__` stands for `_`, `___` for
# `-`), except the variables the start scripts read themselves; CLUSTER_ID formats log.dirs
# once; then the broker runs in the foreground.
set -euo pipefail
props=/opt/kafka/config/server.properties
: >"$props"
for name in $(compgen -e | grep -E '^KAFKA_[A-Z0-9_]+$'); do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_GC_LOG_OPTS | \
      KAFKA_JMX_OPTS | KAFKA_DEBUG | KAFKA_VERSION | KAFKA_LOG4J_LOGGERS | KAFKA_LOG4J_ROOT_LOGLEVEL | \
      KAFKA_TOOLS_LOG4J_LOGLEVEL) continue ;;
  esac
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  printf '%s=%s\n' "$key" "${!name}" >>"$props"
done

grep -q '^node.id=' "$props" || { echo "error: KAFKA_NODE_ID is required" >&2; exit 1; }
log_dirs="$(sed -n 's/^log.dirs=//p' "$props")"
if [[ -z $log_dirs ]]; then
  log_dirs=/tmp/kraft-combined-logs
  echo "log.dirs=$log_dirs" >>"$props"
fi

# Format once: a formatted directory keeps its meta.properties across restarts.
if [[ ! -f ${log_dirs%%,*}/meta.properties ]]; then
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "${CLUSTER_ID:?set CLUSTER_ID}" \
    --config "$props" --ignore-formatted
fi
exec /opt/kafka/bin/kafka-server-start.sh "$props"
