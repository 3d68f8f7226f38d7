#!/usr/bin/env bash
# File -> Kafka and file -> searchable latency (issue 24): an agent tailing a Python `logging`
# file and an indexer writing to Elasticsearch, both on one fresh noida-db, default settings;
# bench/latency_probe.py appends lines at a steady rate with 60 probes and times each probe until
# a Kafka consumer reads it and until a search finds it. Two rates: 200 lines/s (a quiet service)
# and RATE2 (default 50,000 lines/s, ~50 % of the agent's measured maximum).
# Targets at 200 lines/s: file -> searchable p50 <= 0.5 s, p99 <= 2 s.
# Run on demand (not in CI): bench/latency.sh [RATE2]
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
kafka: {brokers: ["$BROKER"], partitions: 6}
elasticsearch: {urls: ["$ES"]}
agent:
  data_dir: $WORK/agent-$rate
  inputs:
    - {service: probe, paths: ["$WORK/probe-$rate.log"], format: python}
YAML
  "$LOGSHIP" agent --config "$WORK/logship-$rate.yml" --log-level warning --metrics-listen "127.0.0.1:$(free_port)" &
  local agent=$!
  "$LOGSHIP" indexer --config "$WORK/logship-$rate.yml" --log-level warning --metrics-listen "127.0.0.1:$(free_port)" &
  local indexer=$!
  # Both running: a first line through to Elasticsearch (not timed).
  echo "$(date '+%Y-%m-%d %H:%M:%S'),000 INFO [probe] warm-up" >>"$WORK/probe-$rate.log"
  for _ in $(seq 300); do
    [ "$(curl -s "$ES/logs-probe-*/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2>/dev/null)" -ge 1 ] 2>/dev/null && break
    sleep 0.1
  done
  python3 bench/latency_probe.py "$WORK/probe-$rate.log" "$BROKER" logs.probe "$ES" 'logs-probe-*' "$rate" 60
  kill -TERM "$agent" "$indexer"; wait "$agent" "$indexer" || true
}
run_rate 200
run_rate "${1:-50000}"
