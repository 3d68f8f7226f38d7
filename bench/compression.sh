#!/usr/bin/env bash
# kafka.compression (issue 24): the agent ships the same Python `logging` file with each codec
# (CODEC or CODEC:LEVEL; a bare codec at logship's default level: 1 for zstd, librdkafka's for the
# others) into its own fresh noida-db broker and prints lines/s, agent CPU seconds, peak RSS and
# the broker's CPU seconds per codec; then the size of the agent's messages compressed by each
# codec's command-line tool in pieces of 256 KiB (about the agent's batches: 4,000 events in
# flight over 6 partitions) and of 1 MiB (librdkafka's largest batch; snappy has no tool here).
# Run on demand (not in CI): bench/compression.sh [LINES] [CODECS]
#   (default 300,000; zstd zstd:3 lz4 snappy gzip none)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-300000}
WORK=$(mktemp -d /tmp/logship-bench-compression.XXXXXX)
. bench/common.sh
python3 bench/gen_python_log.py "$WORK/app.log" "$LINES"
echo "bench: $LINES lines, $(($(stat -c %s "$WORK/app.log") / 1048576)) MiB of Python logging text"
printf "%-8s %10s %8s %12s %14s\n" codec lines/s "CPU s" "peak RSS MB" "broker CPU s"
for variant in ${2:-zstd zstd:3 lz4 snappy gzip none}; do
  codec=${variant%%:*}; level=""; name=${variant/:/-}
  [ "$variant" != "$codec" ] && level=", compression_level: ${variant#*:}"
  fresh_noida
  "$LOGSHIP" topics create logs.bench --partitions 6 --brokers "$BROKER" >/dev/null
  broker_cpu0=$(proc_cpu "$NOIDA_PID")
  MPORT=$(free_port)
  cat >"$WORK/logship-$name.yml" <<YAML
kafka: {brokers: ["$BROKER"], partitions: 6, compression: $codec$level}
agent:
  data_dir: $WORK/agent-$name
  metrics_listen: 127.0.0.1:$MPORT
  inputs:
    - {service: bench, paths: ["$WORK/app.log"], format: python}
YAML
  run_agent "$WORK/logship-$name.yml" "$MPORT" "$LINES"
  printf "%-8s %10.0f %8.2f %12.1f %14.2f\n" "$variant" "$(echo "$LINES / $AGENT_SECS" | bc -l)" "$AGENT_CPU" \
    "$(echo "$AGENT_RSS / 1024" | bc -l)" "$(echo "$(proc_cpu "$NOIDA_PID") - $broker_cpu0" | bc)"
done
"$LOGSHIP" parse "$WORK/app.log" --config "$WORK/logship-$name.yml" --service bench --keys >"$WORK/events"
raw=$(stat -c %s "$WORK/events")
echo "the agent's messages: $((raw / 1048576)) MiB; compressed in pieces of 256 KiB / 1 MiB:"
for piece in 256K 1M; do
  rm -rf "$WORK/pieces" && mkdir -p "$WORK/pieces" && split -b "$piece" "$WORK/events" "$WORK/pieces/p"
  for tool in "zstd -1 -c" "zstd -3 -c" "lz4 -1 -c" "gzip -6 -c"; do
    command -v "${tool%% *}" >/dev/null || continue
    bytes=0; for f in "$WORK"/pieces/p*; do bytes=$((bytes + $($tool <"$f" | wc -c))); done
    printf "  %-5s %-10s %6.1f MiB  (%.1fx)\n" "$piece" "${tool% -c}" "$(echo "$bytes / 1048576" | bc -l)" "$(echo "$raw / $bytes" | bc -l)"
  done
done
