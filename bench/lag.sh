#!/usr/bin/env bash
# `logship lag` over 1,000 partitions (issue 6): 10 topics × 100 partitions on noida-db, three
# groups with commits (set with `logship replay`), then the wall time of `logship lag --json`
# for all groups, five runs. Target: ≤ 1 s. Run on demand: bench/lag.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/logship-bench-lag.XXXXXX)
. bench/common.sh
echo "bench: creating 10 topics × 100 partitions on $BROKER"
for t in $(seq 0 9); do "$LOGSHIP" topics create "logs.lag$t" --partitions 100 --brokers "$BROKER" >/dev/null; done
python3 - "$WORK/keyed.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write("k%05d\tmessage %d\n" % (i, i))
PY
for t in $(seq 0 9); do kcat -P -b "$BROKER" -t "logs.lag$t" -K '\t' -l "$WORK/keyed.txt"; done
for g in 0 1 2; do
  "$LOGSHIP" replay --brokers "$BROKER" --group "bench-lag-$g" --topic '^logs\.lag' --to-latest --execute >/dev/null
  "$LOGSHIP" replay --brokers "$BROKER" --group "bench-lag-$g" --topic '^logs\.lag' --shift-by=-$((g * 3)) --execute >/dev/null
done
"$LOGSHIP" lag --brokers "$BROKER" --json >"$WORK/lag.json"
python3 - "$WORK/lag.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("lag: %d groups, %d partition rows, total lag %d" % (len(r["groups"]), len(r["partitions"]), sum(g["lag"] for g in r["groups"])))
PY
for run in 1 2 3 4 5; do
  start=$(date +%s.%N)
  "$LOGSHIP" lag --brokers "$BROKER" --json >/dev/null
  end=$(date +%s.%N)
  printf "run %d: %.3f s\n" "$run" "$(echo "$end - $start" | bc)"
done
echo "target: <= 1 s for 1,000 partitions"
