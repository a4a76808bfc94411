#!/bin/bash
# Minimal kafka-run-class.sh: the classpath of /opt/kafka/libs and the usual option variables.
base=$(dirname "$0")/..
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_OPTS:-} \
  -Djava.awt.headless=true \
  ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/log4j2.properties} \
  -cp "$base/libs/*" "$@"
