#!/usr/bin/env bash
# Agent throughput benchmark (issue 3): ships the same file of Python logging lines with
#   - logship agent (release build; parses, masks, enriches),
#   - kcat -P (the ceiling: raw lines, no parsing),
#   - kcat -P shipping the agent's own events (keyed, same producer settings): the ceiling for
#     shipping those events, whoever makes them,
#   - rsyslog imfile + omkafka,
#   - a Python confluent-kafka tail-and-produce loop,
# each into its own fresh noida-db broker (noida-db slows as its store grows: whoever went second
# would pay for the first one's data), and prints lines/s, MB/s, CPU seconds and peak RSS of each,
# the broker's CPU seconds while it was fed, and the ratios.
# Run on demand (not in CI): bench/agent.sh [LINES]   (default 1,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
WORK=$(mktemp -d /tmp/logship-bench.XXXXXX)
if ! command -v rsyslogd >/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ]; then
  apt-get install -y -qq rsyslog rsyslog-kafka >/dev/null 2>&1 || echo "bench: rsyslog-kafka not installable; skipping that peer"
fi
. bench/common.sh

python3 bench/gen_python_log.py "$WORK/app.log" "$LINES"
BYTES=$(stat -c %s "$WORK/app.log")
echo "bench: $LINES lines, $((BYTES / 1048576)) MiB, a fresh noida-db broker per shipper"
# A fresh broker with the shipper's topic (6 partitions, as the agent creates them).
fresh_broker() { fresh_noida; "$LOGSHIP" topics create "$1" --partitions 6 --brokers "$BROKER" >/dev/null; BROKER_CPU0=$(proc_cpu "$NOIDA_PID"); }

high() { kcat -b "$BROKER" -Q $(for p in 0 1 2 3 4 5; do printf -- "-t %s:%d:-1 " "$1" "$p"; done) 2>/dev/null | awk '{s+=$4} END {print s+0}'; }
RESULTS=()
# name|seconds|cpu|rss_kb|broker cpu
record() { RESULTS+=("$1|$2|$3|$4|$(echo "$(proc_cpu "$NOIDA_PID") - $BROKER_CPU0" | bc)"); }

# kcat -P: /usr/bin/time gives CPU and peak RSS.
fresh_broker bench.kcat
start=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$WORK/kcat.time" kcat -P -b "$BROKER" -t bench.kcat -z zstd -X linger.ms=5 -l "$WORK/app.log"
end=$(date +%s.%N)
read -r u s m <"$WORK/kcat.time"
record "kcat -P" "$(echo "$end - $start" | bc)" "$(echo "$u + $s" | bc)" "$m"

# logship agent: time until Kafka acknowledged every line (its own counter, read from its metrics
# endpoint every 50 ms), then SIGTERM.
fresh_broker logs.bench
MPORT=$(free_port)
cat >"$WORK/logship.yml" <<YAML
kafka: {brokers: ["$BROKER"], partitions: 6}
agent:
  data_dir: $WORK/agent
  metrics_listen: 127.0.0.1:$MPORT
  inputs:
    - {service: bench, paths: ["$WORK/app.log"], format: python}
YAML
run_agent "$WORK/logship.yml" "$MPORT" "$LINES"
record "logship agent" "$AGENT_SECS" "$AGENT_CPU" "$AGENT_RSS"

# The ceiling for shipping the agent's events: kcat -P producing exactly the messages the agent
# produced (its events, keyed as it keys them, made beforehand by `logship parse --keys`, not timed)
# with the agent's producer settings. No shipper of these events, parsing or not, can beat it here.
"$LOGSHIP" parse "$WORK/app.log" --config "$WORK/logship.yml" --service bench --keys >"$WORK/events.keyed"
EVENT_BYTES=$(( $(stat -c %s "$WORK/events.keyed") ))
fresh_broker logs.bench
start=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$WORK/kcat-events.time" kcat -P -b "$BROKER" -t logs.bench -K $'\t' -z zstd -X linger.ms=5 \
  -X enable.idempotence=true -X acks=all -X partitioner=murmur2_random -l "$WORK/events.keyed"
end=$(date +%s.%N)
read -r u s m <"$WORK/kcat-events.time"
record "kcat -P agent's events" "$(echo "$end - $start" | bc)" "$(echo "$u + $s" | bc)" "$m"
rm -f "$WORK/events.keyed"

# Python confluent-kafka loop.
fresh_broker bench.python
start=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$WORK/py.time" python3 bench/python_tail_produce.py "$WORK/app.log" "$BROKER" bench.python
end=$(date +%s.%N)
read -r u s m <"$WORK/py.time"
record "python confluent-kafka" "$(echo "$end - $start" | bc)" "$(echo "$u + $s" | bc)" "$m"

# rsyslog imfile + omkafka.
if [ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ]; then
  fresh_broker bench.rsyslog
  cat >"$WORK/rsyslog.conf" <<CONF
global(workDirectory="$WORK/rsyslog")
module(load="imfile")
module(load="omkafka")
template(name="raw" type="string" string="%msg%")
input(type="imfile" File="$WORK/app.log" Tag="bench" ruleset="tokafka" freshStartTail="off" MaxLinesAtOnce="0")
ruleset(name="tokafka") {
  action(type="omkafka" broker=["$BROKER"] topic="bench.rsyslog" template="raw" confParam=["compression.codec=zstd", "linger.ms=5"])
}
CONF
  mkdir -p "$WORK/rsyslog"
  start=$(date +%s.%N)
  rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslog.pid" &
  RS=$!
  until [ "$(high bench.rsyslog)" -ge "$LINES" ]; do kill -0 $RS 2>/dev/null || break; sleep 0.2; done
  end=$(date +%s.%N)
  cpu=$(proc_cpu $RS); rss=$(proc_rss $RS)
  kill -TERM $RS; wait $RS || true
  record "rsyslog imfile+omkafka" "$(echo "$end - $start" | bc)" "$cpu" "$rss"
fi

echo
echo "(MB/s: of the input file, for every row; lines/s are comparable across rows)"
printf "%-24s %12s %9s %10s %12s %14s\n" "shipper" "lines/s" "MB/s" "CPU s" "peak RSS MB" "broker CPU s"
declare -A RATE
for r in "${RESULTS[@]}"; do
  IFS='|' read -r name secs cpu rss bcpu <<<"$r"
  rate=$(echo "$LINES / $secs" | bc)
  RATE[$name]=$rate
  printf "%-24s %12s %9.1f %10.2f %12.1f %14.2f\n" "$name" "$rate" "$(echo "$BYTES / $secs / 1048576" | bc -l)" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$bcpu"
done
echo
agent=${RATE["logship agent"]}
for peer in "kcat -P" "kcat -P agent's events" "python confluent-kafka" "rsyslog imfile+omkafka"; do
  [ -n "${RATE[$peer]:-}" ] && printf "agent / %-22s %.2fx\n" "$peer" "$(echo "$agent / ${RATE[$peer]}" | bc -l)"
done
printf "kcat -P agent's events / kcat -P: %.2fx (the agent's messages, key and event, are %.1fx the raw bytes: %s MiB)\n" \
  "$(echo "${RATE["kcat -P agent's events"]} / ${RATE["kcat -P"]}" | bc -l)" "$(echo "$EVENT_BYTES / $BYTES" | bc -l)" "$((EVENT_BYTES / 1048576))"
echo "targets: agent >= 0.5x kcat -P (stretch 0.8x), >= 2.5x rsyslog, >= 1.5x the Python loop, RSS <= 30 MB"
