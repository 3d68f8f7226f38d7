#!/usr/bin/env bash
# Regenerates Sources/logship-agent/symbol-order.txt, the order in which lld lays out the
# functions of `logship-agent` (Package.swift, --symbol-ordering-file): every function the agent
# ran — tailing and shipping 30,000 Python `logging` lines to a fresh noida-db with the default
# settings, metrics scrapes, a few seconds idle, SIGTERM — by phase, the latest first: what the idle
# loop ran, then what only the burst ran, then what only start-up ran, each phase's most
# instructions first. So the code an idle agent keeps running sits together, then the rest a burst
# needs, apart from start-up code (whose pages it lets go, IdleTrim), and the kernel maps fewer of
# the binary's pages into it (README, "Pipeline speed", memory). Functions it does not list still link, after
# these. Run on demand, after changes
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
# Start-up ends when the reading loop runs (its first registry save writes the textfile): dump
# that phase (callgrind_control: agent.cg.1), and count the rest from there.
until [ -s "$WORK/agent/metrics.prom" ]; do
  kill -0 $agent 2>/dev/null || { echo "agent died: $(tail -5 "$WORK/agent.log")" >&2; exit 1; }
  sleep 0.2
done
callgrind_control --dump=start-up $agent >/dev/null 2>&1
until curl -sf "http://127.0.0.1:$MPORT/metrics" 2>/dev/null | grep -q "^logship_agent_events_sent_total{service=\"bench\"} $LINES\$"; do
  kill -0 $agent 2>/dev/null || { echo "agent died: $(tail -5 "$WORK/agent.log")" >&2; exit 1; }
  sleep 0.5
done
# The burst is over: dump it (agent.cg.2); what runs from here is the idle loop's (and shutdown's).
callgrind_control --dump=shipping $agent >/dev/null 2>&1
sleep 5  # idle: the quiet spell's trim, registry checks, heartbeats
kill -TERM $agent; wait $agent || true
out=Sources/logship-agent/symbol-order.txt
# callgrind names a dump agent.cg.N and the last part agent.cg.N+1 (or agent.cg): the latest first.
phases=$(for f in "$WORK"/agent.cg*; do n=${f##*/agent.cg}; n=${n#.}; printf '%s\t%s\n' "${n:-999999}" "$f"; done | sort -rn | cut -f2)
python3 bench/callgrind_functions.py "$WORK/logship-agent" $phases >"$out"
# SwiftPM does not see the linker's inputs change: remove the binary so the next build links it again.
rm -f "$LOGSHIP_AGENT"
echo "$out: $(wc -l <"$out") functions (build logship-agent again to lay them out)"
