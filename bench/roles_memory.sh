#!/usr/bin/env bash
# Peak resident memory (VmHWM) and CPU seconds of every role of a local cluster under the demo's
# traffic: the figures behind deploy/kubernetes' requests and limits. On demand, not in the suite.
#   bench/roles_memory.sh [SECONDS=120] [RATE=50]     (LOGSHIP_BIN: the binary; default release build)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}; rate=${2:-50}
run=$(mktemp -d /tmp/logship-mem-XXXX)
trap 'LOGSHIP_RUN_DIR=$run cluster/down >/dev/null 2>&1 || true; rm -rf "$run"' EXIT
LOGSHIP_RUN_DIR=$run cluster/up --rate "$rate" --demo-duration "${seconds}s" >/dev/null
sleep "$seconds"
printf '%-14s %10s %10s %8s\n' ROLE PEAK_MB RSS_MB CPU_S
for pidfile in "$run"/pids/*.pid; do
  name=$(basename "$pidfile" .pid); pid=$(cat "$pidfile")
  [ -r "/proc/$pid/status" ] || continue
  grep -q logship "/proc/$pid/cmdline" 2>/dev/null || continue
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status"); rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat"); hz=$(getconf CLK_TCK)
  awk -v n="$name" -v h="$hwm" -v r="$rss" -v t="$ticks" -v z="$hz" 'BEGIN { printf "%-14s %10.1f %10.1f %8.1f\n", n, h / 1024, r / 1024, t / z }'
done
echo "(${seconds} s of demo traffic at ${rate} requests/s; events/s per service: cluster/status)"
