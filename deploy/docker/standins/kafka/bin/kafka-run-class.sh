#!/bin/bash
# Runs a Kafka main class with the jars in /opt/kafka/libs (the tarball's script, reduced).
log4j="${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties}"
# shellcheck disable=SC2086 # the *_OPTS variables hold several JVM options
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
  -Djava.awt.headless=true $log4j ${KAFKA_OPTS:-} -cp "/opt/kafka/libs/*" "$@"
