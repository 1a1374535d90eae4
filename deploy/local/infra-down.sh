#!/usr/bin/env bash
# Stops the local Kafka broker and PostgreSQL server (data is kept).
set -euo pipefail
LOG_PREFIX=infra-down
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

rc=0
"$DEPLOY_DIR/kafka.sh" down || rc=1
"$DEPLOY_DIR/postgres.sh" down || rc=1
exit "$rc"
