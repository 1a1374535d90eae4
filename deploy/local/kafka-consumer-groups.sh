#!/usr/bin/env bash
# kafka-consumer-groups for the local broker, e.g.
#   deploy/local/kafka-consumer-groups.sh --bootstrap-server 127.0.0.1:9092 \
#       --describe --group transaction-consumers
exec "$(dirname -- "${BASH_SOURCE[0]}")/kafka-tool.sh" consumer-groups "$@"
