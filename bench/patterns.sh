#!/usr/bin/env bash
# Template mining (issue 25): messages/s of the miner alone on one core (generated messages of
# 40 shapes, 3 runs), its peak RSS at 1 M and 4 M messages (bounded by templates, not messages),
# and `logship patterns --file` over a 1,000,000-line Python logging file end to end (the agent's
# read/parse pipeline included). Target: >= 200,000 messages/s. Run on demand: bench/patterns.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product logship >/dev/null
LOGSHIP=$(swift build -c release --show-bin-path)/logship
WORK=$(mktemp -d /tmp/logship-bench-patterns.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for run in 1 2 3; do taskset -c 0 "$LOGSHIP" patterns bench --messages 1000000; done
for n in 1000000 4000000; do
  /usr/bin/time -f "%M" -o "$WORK/rss" taskset -c 0 "$LOGSHIP" patterns bench --messages "$n" >/dev/null
  echo "$n messages: peak RSS $(( $(cat "$WORK/rss") / 1024 )) MB"
done
python3 bench/gen_python_log.py "$WORK/app.log" 1000000
start=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$WORK/file.time" "$LOGSHIP" patterns --file "$WORK/app.log" --top 3 2>/dev/null
end=$(date +%s.%N)
read -r u s m <"$WORK/file.time"
printf "patterns --file, 1,000,000 lines: %.1f s wall, %.1f CPU s, %.0f lines/s, peak RSS %d MB\n" \
  "$(echo "$end - $start" | bc)" "$(echo "$u + $s" | bc)" "$(echo "1000000 / ($end - $start)" | bc -l)" "$((m / 1024))"
