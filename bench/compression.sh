#!/usr/bin/env bash
# kafka.compression (issue 24): the agent ships the same Python `logging` file with each codec
# (default level) into its own fresh noida-db broker and prints lines/s, agent CPU seconds, peak
# RSS, the broker's CPU seconds and the bytes the broker stored (its data directory), per codec.
# Run on demand (not in CI): bench/compression.sh [LINES] [CODECS]   (default 300,000; all five)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-300000}
WORK=$(mktemp -d /tmp/logship-bench-compression.XXXXXX)
. bench/common.sh
python3 bench/gen_python_log.py "$WORK/app.log" "$LINES"
echo "bench: $LINES lines, $(($(stat -c %s "$WORK/app.log") / 1048576)) MiB of Python logging text"
printf "%-8s %10s %8s %12s %14s %12s\n" codec lines/s "CPU s" "peak RSS MB" "broker CPU s" "stored MiB"
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
  stored=$(du -sm "$WORK/noida-$NOIDA_RUN" | cut -f1)
  printf "%-8s %10.0f %8.2f %12.1f %14.2f %12s\n" "$codec" "$(echo "$LINES / $AGENT_SECS" | bc -l)" "$AGENT_CPU" \
    "$(echo "$AGENT_RSS / 1024" | bc -l)" "$(echo "$(proc_cpu "$NOIDA_PID") - $broker_cpu0" | bc)" "$stored"
done
