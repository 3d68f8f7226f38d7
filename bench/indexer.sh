#!/usr/bin/env bash
# Indexer benchmark (issue 4): the same N events, already in Kafka, written to the same
# Elasticsearch (noida-db) by
#   - plain pre-built _bulk uploads with curl (the ceiling: no Kafka, no parsing),
#   - logship indexer (release build),
#   - a Python consumer: confluent-kafka + elasticsearch.helpers.streaming_bulk,
# printing documents/s, CPU seconds per 100,000 documents and the ratios. Each writer gets a fresh
# noida-db with the same events (noida-db slows as its store grows, so whoever ran second would lose).
# Run on demand: bench/indexer.sh [EVENTS]   (default 100,000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
WORK=$(mktemp -d /tmp/logship-bench-ix.XXXXXX)
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "elasticsearch>=8,<9" >/dev/null
. bench/common.sh

DAY=$(date -u +%Y-%m-%d); DOTDAY=${DAY//-/.}
python3 - "$WORK" "$N" "$DAY" <<'PY'
import sys
work, n, day = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(work + "/events.jsonl", "w") as ev, open(work + "/bulk.ndjson", "w") as bulk:
    for i in range(n):
        doc = ('{"@timestamp":"%sT10:%02d:%02d.%03dZ","message":"GET /api/orders status=200 duration_ms=%d request %d","service":{"name":"bench"},'
               '"host":{"name":"h1"},"log":{"level":"INFO","logger":"orders.views"},"trace":{"id":"%032x"},"http":{"response":{"status_code":200}},'
               '"event":{"id":"%032x","duration":%d}}') % (day, (i // 60000) % 60, (i // 1000) % 60, i % 1000, i % 900, i, i * 7919, i + 1, (i % 900) * 1000000)
        ev.write(doc + "\n")
        bulk.write('{"create":{"_index":"logs-benchcurl-%s","_id":"%032x"}}\n%s\n' % (day.replace("-", "."), i + 1, doc))
PY
split -l 4000 "$WORK/bulk.ndjson" "$WORK/bulk-part-"
count() { curl -s -XPOST "$ES/$1/_refresh" >/dev/null; curl -s "$ES/$1/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count",0))'; }
# Each writer runs against a fresh noida-db (fresh_noida) holding the same events in Kafka.
load_events() {
  "$LOGSHIP" topics create "$1" --partitions 6 --brokers "$BROKER" >/dev/null
  kcat -P -b "$BROKER" -t "$1" -l "$WORK/events.jsonl"
}
write_config() {
  MPORT=$(free_port)
  cat >"$WORK/logship.yml" <<YAML
kafka: {brokers: ["$BROKER"]}
elasticsearch: {url: "$ES"}
indexer: {batch_documents: 2000, flush_interval: 500ms, metrics_listen: "127.0.0.1:$MPORT", topics: '^logs\\.bench$'}
YAML
}
RESULTS=()

# The indexer installs its logs-* template; the ceiling writes into a logs-* index too, so both
# pay for the same mapping (measured: the template costs noida-db ~20 % against a bare index).
# An indexer subscribed to no topic installs the template, then stops.
echo "bench: $N events; ceiling: curl into a logs-* index on noida-db $ES"
write_config
sed "s/topics: .*}/topics: '^none\$'}/" "$WORK/logship.yml" >"$WORK/template-only.yml"
"$LOGSHIP" indexer --config "$WORK/template-only.yml" --log-level error 2>/dev/null & T=$!
until curl -sf "$ES/_index_template/logship-logs" >/dev/null; do sleep 0.2; done
kill -TERM $T; wait $T || true

# Ceiling: pre-built _bulk bodies, 2,000 documents each, one curl per body, no Expect header.
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$WORK/curl.time" sh -c "for f in $WORK/bulk-part-*; do curl -s -H 'Expect:' -H 'Content-Type: application/x-ndjson' -XPOST '$ES/_bulk' --data-binary @\$f >/dev/null; done"
end=$(date +%s.%N); read -r u s <"$WORK/curl.time"
RESULTS+=("curl _bulk (ceiling)|$(echo "$end - $start" | bc)|$(echo "$u + $s" | bc)|$(count "logs-benchcurl-$DOTDAY")")

fresh_noida; load_events logs.bench; write_config
echo "bench: logship indexer on a fresh noida-db ($BROKER, $ES)"
# logship indexer. Done is read from its own metrics: polling _count on noida-db while it writes
# halves noida-db's bulk rate (measured), which would charge the poller to the indexer.
start=$(date +%s.%N)
"$LOGSHIP" indexer --config "$WORK/logship.yml" --log-level warning &
IX=$!
written() { curl -s "http://127.0.0.1:$MPORT/metrics" | awk '/^logship_indexer_documents_(indexed|duplicate)_total/ {s+=$2} END {print s+0}'; }
until [ "$(written)" -ge "$N" ]; do
  kill -0 $IX 2>/dev/null || { echo "indexer died"; exit 1; }; sleep 0.1; done
end=$(date +%s.%N)
cpu=$(awk '{print ($14+$15)/100}' /proc/$IX/stat)
kill -TERM $IX; wait $IX || true
RESULTS+=("logship indexer|$(echo "$end - $start" | bc)|$cpu|$(count "logs-bench-$DOTDAY")")

# Python confluent-kafka + elasticsearch bulk helper.
fresh_noida; load_events bench.python
echo "bench: python consumer on a fresh noida-db ($BROKER, $ES)"
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$WORK/py.time" python3 bench/python_indexer.py "$BROKER" "$ES" bench.python "$N"
end=$(date +%s.%N); read -r u s <"$WORK/py.time"
RESULTS+=("python consumer|$(echo "$end - $start" | bc)|$(echo "$u + $s" | bc)|$(count "bench-python-$DOTDAY")")

echo
printf "%-22s %10s %14s %10s\n" "writer" "docs/s" "CPU s/100k" "indexed"
declare -A RATE CPU
for r in "${RESULTS[@]}"; do
  IFS='|' read -r name secs cpu docs <<<"$r"
  RATE[$name]=$(echo "$N / $secs" | bc); CPU[$name]=$(echo "$cpu * 100000 / $N" | bc -l)
  printf "%-22s %10s %14.2f %10s\n" "$name" "${RATE[$name]}" "${CPU[$name]}" "$docs"
done
printf "\nindexer / curl ceiling (docs/s):     %.2fx   (target >= 0.9x)\n" "$(echo "${RATE["logship indexer"]} / ${RATE["curl _bulk (ceiling)"]}" | bc -l)"
printf "indexer / python consumer (CPU/doc): %.2fx   (target <= 0.2x)\n" "$(echo "${CPU["logship indexer"]} / ${CPU["python consumer"]}" | bc -l)"
