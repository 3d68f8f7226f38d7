#!/usr/bin/env bash
# File -> Kafka and file -> searchable latency (issue 24): an agent tailing a Python `logging`
# file and an indexer writing to Elasticsearch, both on one fresh noida-db, default settings;
# bench/latency_probe.py appends lines at a steady rate with 60 probes and times each probe until
# a Kafka consumer reads it and until a search finds it (50 ms). Rates:
# 200 lines/s (a quiet service), 2,000 lines/s (~40 % of what noida-db's Elasticsearch takes,
# 4,300-5,100 documents/s) and 50,000 lines/s (~50 % of the agent's maximum: file -> Kafka;
# noida-db's Elasticsearch cannot keep up with it).
# Targets at 200 lines/s: file -> searchable p50 <= 0.5 s, p99 <= 2 s.
# Run on demand (not in CI): bench/latency.sh [RATE...]   (default: 200 2000 50000); LATENCY_EXTRA_YAML adds top-level config
# (e.g. 'indexer: {batch_wait: 1s}') and LATENCY_INPUT_EXTRA keys to the input (e.g.
# 'multiline_timeout: 1s') to compare settings.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/logship-bench-latency.XXXXXX)
. bench/common.sh
run_rate() {
  local rate=$1
  fresh_noida
  "$LOGSHIP" topics create logs.probe --partitions 6 --brokers "$BROKER" >/dev/null
  : >"$WORK/probe-$rate.log"
  cat >"$WORK/logship-$rate.yml" <<YAML
kafka: {brokers: ["$BROKER"], partitions: 6, properties: {${LATENCY_KAFKA_PROPERTIES:-}}}
elasticsearch: {urls: ["$ES"]}
agent:
  data_dir: $WORK/agent-$rate
  inputs:
    - {service: probe, paths: ["$WORK/probe-$rate.log"], format: python${LATENCY_INPUT_EXTRA:+, $LATENCY_INPUT_EXTRA}}
${LATENCY_EXTRA_YAML:-}
YAML
  "$LOGSHIP_AGENT" --config "$WORK/logship-$rate.yml" --log-level warning --metrics-listen "127.0.0.1:$(free_port)" &
  local agent=$!
  local iport; iport=$(free_port)
  "$LOGSHIP" indexer --config "$WORK/logship-$rate.yml" --log-level "${LATENCY_INDEXER_LOG:-warning}" --metrics-listen "127.0.0.1:$iport" &
  local indexer=$!
  # Both running: a first line through to Elasticsearch (not timed).
  echo "$(date '+%Y-%m-%d %H:%M:%S'),000 INFO [probe] warm-up" >>"$WORK/probe-$rate.log"
  for _ in $(seq 300); do
    [ "$(curl -s "$ES/logs-probe-*/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2>/dev/null)" -ge 1 ] 2>/dev/null && break
    sleep 0.1
  done
  python3 bench/latency_probe.py "$WORK/probe-$rate.log" "$BROKER" logs.probe "$ES" 'logs-probe-*' "$rate" 60
  # Where the indexer's share goes: Kafka timestamp -> Elasticsearch acknowledged, per bulk.
  curl -s "http://127.0.0.1:$iport/metrics" | python3 -c '
import sys
m = {}
for line in sys.stdin:
    if line.startswith("logship_indexer_") and ("_sum" in line or "_count" in line):
        name, value = line.rsplit(" ", 1); m[name.split("{")[0]] = float(value)
def mean(n): return m.get(n + "_sum", 0) / max(m.get(n + "_count", 0), 1)
print("  indexer: Kafka -> Elasticsearch acknowledged %.3f s mean; bulk %.3f s mean, %.0f documents mean, %d bulks" % (
    mean("logship_indexer_end_to_end_latency_seconds"), mean("logship_indexer_bulk_duration_seconds"),
    mean("logship_indexer_batch_documents"), m.get("logship_indexer_bulk_duration_seconds_count", 0)))'
  kill -TERM "$agent" "$indexer"; wait "$agent" "$indexer" || true
}
for rate in ${@:-200 2000 50000}; do run_rate "$rate"; done
