#!/usr/bin/env bash
# Regenerates Sources/logship-agent/symbol-order.txt, the order in which lld lays out the
# functions of `logship-agent` (Package.swift, --symbol-ordering-file): every function the agent
# ran — start-up, tailing and shipping 30,000 Python `logging` lines to a fresh noida-db with the
# default settings, metrics scrapes, SIGTERM — most instructions first, so that the code an agent
# runs sits together and the kernel maps fewer of the binary's pages into it (README, "Pipeline
# speed", memory). Functions it does not list still link, after these. Run on demand, after changes
# that move the agent's hot paths; a stale list costs memory, never correctness.
#   bench/agent-symbol-order.sh [LINES]   (default 30,000; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-30000}
WORK=$(mktemp -d /tmp/logship-order.XXXXXX)
. bench/common.sh
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
"$LOGSHIP" topics create logs.bench --partitions 6 --brokers "$BROKER" >/dev/null
python3 bench/gen_python_log.py "$WORK/app.log" "$LINES"
MPORT=$(free_port)
bench_agent_config "$WORK/logship.yml" "$MPORT"
# valgrind gives up on the static binary's debug information: a copy without it.
strip --strip-debug -o "$WORK/logship-agent" "$LOGSHIP_AGENT"
valgrind --tool=callgrind --demangle=no --compress-strings=no --callgrind-out-file="$WORK/agent.cg" \
  "$WORK/logship-agent" --config "$WORK/logship.yml" --log-level warning >"$WORK/agent.log" 2>&1 &
agent=$!
until curl -sf "http://127.0.0.1:$MPORT/metrics" 2>/dev/null | grep -q "^logship_agent_events_sent_total{service=\"bench\"} $LINES\$"; do
  kill -0 $agent 2>/dev/null || { echo "agent died: $(tail -5 "$WORK/agent.log")" >&2; exit 1; }
  sleep 0.5
done
kill -TERM $agent; wait $agent || true
out=Sources/logship-agent/symbol-order.txt
python3 bench/callgrind_functions.py "$WORK/agent.cg" "$WORK/logship-agent" >"$out"
echo "$out: $(wc -l <"$out") functions (rebuild logship-agent to lay them out)"
