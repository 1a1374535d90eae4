#!/usr/bin/env bash
# Runs a Kafka command-line tool with the same jars as the local broker and a
# quiet log4j configuration (warnings on stderr only).
#
# Usage: deploy/local/kafka-tool.sh TOOL [ARGS...]
#   TOOL is a short name or a fully qualified main class:
#     topics           org.apache.kafka.tools.TopicCommand
#     consumer-groups  org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
#     console-consumer org.apache.kafka.tools.consumer.ConsoleConsumer
#     console-producer org.apache.kafka.tools.ConsoleProducer (kafka.tools.… before 4.0)
#     get-offsets      org.apache.kafka.tools.GetOffsetShell
#     storage          kafka.tools.StorageTool
#     metadata-quorum  org.apache.kafka.tools.MetadataQuorumCommand
# Example:
#   deploy/local/kafka-tool.sh consumer-groups --bootstrap-server 127.0.0.1:9092 \
#       --describe --group transaction-consumers
set -euo pipefail
LOG_PREFIX=kafka-tool
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

[ $# -ge 1 ] || die "usage: $0 TOOL [ARGS...] (see the header of this script)"
tool="$1"
shift
case "$tool" in
  topics | TopicCommand) main=org.apache.kafka.tools.TopicCommand ;;
  consumer-groups | ConsumerGroupCommand) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  console-consumer | ConsoleConsumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer | ConsoleProducer)
    # Moved from the broker's jar to kafka-tools in 4.0.
    case "$KAFKA_VERSION" in
      3.*) main=kafka.tools.ConsoleProducer ;;
      *) main=org.apache.kafka.tools.ConsoleProducer ;;
    esac
    ;;
  get-offsets | GetOffsetShell) main=org.apache.kafka.tools.GetOffsetShell ;;
  storage | StorageTool) main=kafka.tools.StorageTool ;;
  metadata-quorum | MetadataQuorumCommand) main=org.apache.kafka.tools.MetadataQuorumCommand ;;
  *.*) main="$tool" ;;
  *) die "unknown tool '$tool' (use a short name from the header of $0 or a fully qualified class)" ;;
esac

# The jars are normally there after 'kafka.sh up'; fetch them if not.
[ -f "$KAFKA_LIBS/.complete" ] || "$DEPLOY_DIR/kafka.sh" libs

exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  "$(kafka_log_flag tools)" \
  -cp "$KAFKA_LIBS/*" "$main" "$@"
