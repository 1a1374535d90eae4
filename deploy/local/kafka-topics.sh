#!/usr/bin/env bash
# kafka-topics for the local broker, e.g.
#   deploy/local/kafka-topics.sh --bootstrap-server 127.0.0.1:9092 --list
exec "$(dirname -- "${BASH_SOURCE[0]}")/kafka-tool.sh" topics "$@"
