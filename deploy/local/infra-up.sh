#!/usr/bin/env bash
# Starts the local infrastructure (PostgreSQL + Kafka) and waits until both
# answer. Idempotent: running it again with everything up is quick and harmless.
# Kafka (the slow one: JVM start, jar download the first time) starts in the
# background while PostgreSQL comes up in the foreground.
set -euo pipefail
LOG_PREFIX=infra-up
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

start=$SECONDS
"$DEPLOY_DIR/kafka.sh" up &
kafka_job=$!

pg_rc=0
"$DEPLOY_DIR/postgres.sh" up || pg_rc=$?
kafka_rc=0
wait "$kafka_job" || kafka_rc=$?

[ "$pg_rc" -eq 0 ] || log "PostgreSQL failed to come up (exit $pg_rc)"
[ "$kafka_rc" -eq 0 ] || log "Kafka failed to come up (exit $kafka_rc)"
if [ "$pg_rc" -ne 0 ] || [ "$kafka_rc" -ne 0 ]; then
  exit 1
fi
log "infrastructure ready in $((SECONDS - start))s"
log "  DATABASE_URL=$DATABASE_URL"
log "  KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
