#!/usr/bin/env bash
# kafka.compression (issue 24): the agent ships the same Python `logging` file with each codec
# (default level) into its own fresh noida-db broker and prints lines/s, agent CPU seconds, peak
# RSS and the broker's CPU seconds per codec; then the size of the agent's messages compressed by
# each codec's command-line tool in 1-MiB pieces (about a Kafka batch; snappy has no tool here).
# Run on demand (not in CI): bench/compression.sh [LINES] [CODECS]   (default 300,000; all five)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-300000}
WORK=$(mktemp -d /tmp/logship-bench-compression.XXXXXX)
. bench/common.sh
python3 bench/gen_python_log.py "$WORK/app.log" "$LINES"
echo "bench: $LINES lines, $(($(stat -c %s "$WORK/app.log") / 1048576)) MiB of Python logging text"
printf "%-8s %10s %8s %12s %14s\n" codec lines/s "CPU s" "peak RSS MB" "broker CPU s"
for codec in ${2:-zstd lz4 snappy gzip none}; do
  fresh_noida
  "$LOGSHIP" topics create logs.bench --partitions 6 --brokers "$BROKER" >/dev/null
  broker_cpu0=$(proc_cpu "$NOIDA_PID")
  MPORT=$(free_port)
  cat >"$WORK/logship-$codec.yml" <<YAML
kafka: {brokers: ["$BROKER"], partitions: 6, compression: $codec}
agent:
  data_dir: $WORK/agent-$codec
  metrics_listen: 127.0.0.1:$MPORT
  inputs:
    - {service: bench, paths: ["$WORK/app.log"], format: python}
YAML
  run_agent "$WORK/logship-$codec.yml" "$MPORT" "$LINES"
  printf "%-8s %10.0f %8.2f %12.1f %14.2f\n" "$codec" "$(echo "$LINES / $AGENT_SECS" | bc -l)" "$AGENT_CPU" \
    "$(echo "$AGENT_RSS / 1024" | bc -l)" "$(echo "$(proc_cpu "$NOIDA_PID") - $broker_cpu0" | bc)"
done
"$LOGSHIP" parse "$WORK/app.log" --config "$WORK/logship-zstd.yml" --service bench --keys >"$WORK/events"
mkdir -p "$WORK/pieces" && split -b 1M "$WORK/events" "$WORK/pieces/p"
size() { local total=0; for f in "$WORK"/pieces/p*; do total=$((total + $("$@" <"$f" | wc -c))); done; echo $total; }
raw=$(stat -c %s "$WORK/events")
echo "the agent's messages: $((raw / 1048576)) MiB; compressed in 1-MiB pieces:"
for tool in "zstd -3 -c" "lz4 -1 -c" "gzip -6 -c"; do
  command -v "${tool%% *}" >/dev/null || continue
  bytes=$(size $tool)
  printf "  %-10s %6.1f MiB  (%.1fx)\n" "${tool%% *}" "$(echo "$bytes / 1048576" | bc -l)" "$(echo "$raw / $bytes" | bc -l)"
done
