#!/usr/bin/env bash
# Agent throughput benchmark (issues 3 and 24): ships the same file of Python logging lines with
#   - logship agent (logship-agent, release build; parses, masks, enriches),
#   - kcat -P shipping the agent's own events (keyed, same producer settings): the ceiling for
#     shipping those events, whoever makes them (target: agent >= 0.8x),
#   - like-for-like peers, each parsing every line into the same JSON fields (time, level, logger,
#     message, trace id, status, duration) and producing it zstd-compressed (target: agent >= 2x
#     the lines/s of the best, <= 0.5x its CPU seconds per line):
#       rsyslog imfile -> RainerScript re_extract -> jsonf template -> omkafka,
#       syslog-ng file() -> regexp-parser() -> format-json -> kafka-c(),
#       the Python script a user would write (re, json.dumps, confluent-kafka),
#   - as context, shippers of the raw lines (no parsing): kcat -P, rsyslog, the Python loop,
# each into its own fresh noida-db broker (noida-db slows as its store grows: whoever went second
# would pay for the first one's data), and prints lines/s, MB/s, CPU seconds and peak RSS of each,
# the broker's CPU seconds while it was fed, the ratios, the agent's idle RSS, and its pipeline's
# instructions per line (callgrind, `logship parse --count`; BENCH_CALLGRIND=0 skips it).
# rsyslog and syslog-ng conflict as Debian packages: syslog-ng is unpacked into the work directory
# and run from there. A peer that cannot be installed is skipped with a message.
# Run on demand (not in CI): bench/agent.sh [LINES]   (default 1,000,000)
#   BENCH_PAIRS=N: N more alternated agent / kcat -P pairs for ratio 2 (below); BENCH_CALLGRIND=0: no callgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
WORK=$(mktemp -d /tmp/logship-bench.XXXXXX)
if ! command -v rsyslogd >/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ]; then
  apt-get install -y -qq rsyslog rsyslog-kafka >/dev/null 2>&1 || echo "bench: rsyslog-kafka not installable; skipping that peer"
fi
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null 2>&1 || echo "bench: valgrind not installable; no instructions per line"
. bench/common.sh
# syslog-ng beside rsyslog: its packages unpacked (not installed), its libraries' dependencies installed.
SNG=$WORK/syslog-ng
if apt-get install -y -qq libivykis0 libnet1 libjson-c5 libpcre3 libwrap0 libglib2.0-0 >/dev/null 2>&1 \
   && (cd "$WORK" && apt-get download syslog-ng-core syslog-ng-mod-rdkafka >/dev/null 2>&1); then
  for deb in "$WORK"/syslog-ng-*.deb; do dpkg-deb -x "$deb" "$SNG"; done
else
  echo "bench: syslog-ng packages not available; skipping that peer"
fi

python3 bench/gen_python_log.py "$WORK/app.log" "$LINES"
BYTES=$(stat -c %s "$WORK/app.log")
echo "bench: $LINES lines, $((BYTES / 1048576)) MiB, a fresh noida-db broker per shipper"
# A fresh broker with the shipper's topic (6 partitions, as the agent creates them).
fresh_broker() { fresh_noida; "$LOGSHIP" topics create "$1" --partitions 6 --brokers "$BROKER" >/dev/null; BROKER_CPU0=$(proc_cpu "$NOIDA_PID"); }

high() { kcat -b "$BROKER" -Q $(for p in 0 1 2 3 4 5; do printf -- "-t %s:%d:-1 " "$1" "$p"; done) 2>/dev/null | awk '{s+=$4} END {print s+0}'; }
RESULTS=()
# name|seconds|cpu|rss_kb|broker cpu (the broker's CPU seconds now, or as read at the shipper's end: $5)
record() { RESULTS+=("$1|$2|$3|$4|$(echo "${5:-$(proc_cpu "$NOIDA_PID")} - $BROKER_CPU0" | bc)"); }

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
bench_agent_config "$WORK/logship.yml" "$MPORT"
AGENT_IDLE_WAIT=5 run_agent "$WORK/logship.yml" "$MPORT" "$LINES"
record "logship agent" "$AGENT_SECS" "$AGENT_CPU" "$AGENT_RSS" "$AGENT_BROKER_CPU"

# The ceiling for shipping the agent's events: kcat -P producing exactly the messages the agent
# produced (its events, keyed as it keys them, made beforehand by `logship parse --keys`, not timed)
# with the agent's producer settings (zstd level 1 among them). No shipper of these events,
# parsing or not, can beat it here.
"$LOGSHIP" parse "$WORK/app.log" --config "$WORK/logship.yml" --service bench --keys >"$WORK/events.keyed"
EVENT_BYTES=$(( $(stat -c %s "$WORK/events.keyed") ))
fresh_broker logs.bench
start=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$WORK/kcat-events.time" kcat -P -b "$BROKER" -t logs.bench -K $'\t' -z zstd -X linger.ms=5 \
  -X enable.idempotence=true -X acks=all -X partitioner=murmur2_random -X compression.level=1 -l "$WORK/events.keyed"
end=$(date +%s.%N)
read -r u s m <"$WORK/kcat-events.time"
record "kcat -P agent's events" "$(echo "$end - $start" | bc)" "$(echo "$u + $s" | bc)" "$m"

# Python confluent-kafka loops: the raw lines, and the script that parses them (re, json.dumps).
timed_python() {  # timed_python NAME SCRIPT
  fresh_broker bench.python
  local start end u s m
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S %M" -o "$WORK/py.time" python3 "$2" "$WORK/app.log" "$BROKER" bench.python
  end=$(date +%s.%N)
  read -r u s m <"$WORK/py.time"
  record "$1" "$(echo "$end - $start" | bc)" "$(echo "$u + $s" | bc)" "$m"
}
timed_python "python raw lines" bench/python_tail_produce.py
timed_python "python re+json.dumps" bench/python_parse_produce.py

# A daemon shipper: started by the command, timed until the topic holds LINES messages, then TERM.
ship_daemon() {
  local name=$1 topic=$2 start end pid cpu rss; shift 2
  start=$(date +%s.%N)
  "$@" &
  pid=$!
  until [ "$(high "$topic")" -ge "$LINES" ]; do kill -0 $pid 2>/dev/null || { echo "bench: $name died"; return; }; sleep 0.2; done
  end=$(date +%s.%N)
  cpu=$(proc_cpu $pid); rss=$(proc_rss $pid)
  kill -TERM $pid; wait $pid || true
  record "$name" "$(echo "$end - $start" | bc)" "$cpu" "$rss"
}

rsyslog_conf() {  # rsyslog_conf TOPIC TEMPLATE RULES (a work directory of its own: imfile keeps its offset there)
  local state
  state=$(mktemp -d "$WORK/rsyslog-state.XXXX")
  cat <<CONF
global(workDirectory="$state")
module(load="imfile")
module(load="omkafka")
template(name="raw" type="string" string="%msg%")
template(name="event" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="\$!time" format="jsonf")
  property(outname="log.level" name="\$!level" format="jsonf")
  property(outname="log.logger" name="\$!logger" format="jsonf")
  property(outname="message" name="\$!message" format="jsonf")
  property(outname="trace.id" name="\$!trace" format="jsonf")
  property(outname="http.response.status_code" name="\$!status" format="jsonf" datatype="number")
  property(outname="event.duration_ms" name="\$!duration" format="jsonf" datatype="number")
}
input(type="imfile" File="$WORK/app.log" Tag="bench" ruleset="tokafka" freshStartTail="off" MaxLinesAtOnce="0")
ruleset(name="tokafka") {
$3
  action(type="omkafka" broker=["$BROKER"] topic="$1" template="$2" confParam=["compression.codec=zstd", "linger.ms=5"])
}
CONF
}
if [ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ]; then
  fresh_broker bench.rsyslog
  rsyslog_conf bench.rsyslog raw "" >"$WORK/rsyslog-raw.conf"
  ship_daemon "rsyslog raw lines" bench.rsyslog rsyslogd -n -f "$WORK/rsyslog-raw.conf" -i "$WORK/rsyslog-raw.pid"
  fresh_broker bench.rsyslog
  rsyslog_conf bench.rsyslog event "$(cat <<'RULES'
  set $!time = re_extract($msg, "^([0-9-]+ [0-9:,]+) ", 0, 1, "");
  set $!level = re_extract($msg, "^[0-9-]+ [0-9:,]+ ([A-Z]+) ", 0, 1, "");
  set $!logger = re_extract($msg, " \\[([^]]+)\\] ", 0, 1, "");
  set $!message = re_extract($msg, "\\] (.*)\$", 0, 1, "");
  set $!trace = re_extract($msg, "trace_id=([0-9a-f]+)", 0, 1, "");
  set $!status = re_extract($msg, "status=([0-9]+)", 0, 1, "0");
  set $!duration = re_extract($msg, "duration_ms=([0-9]+)", 0, 1, "0");
RULES
)" >"$WORK/rsyslog-parse.conf"
  ship_daemon "rsyslog regex+jsonf" bench.rsyslog rsyslogd -n -f "$WORK/rsyslog-parse.conf" -i "$WORK/rsyslog-parse.pid"
fi

if [ -x "$SNG/usr/sbin/syslog-ng" ]; then
  fresh_broker bench.syslogng
  cat >"$WORK/syslog-ng.conf" <<CONF
@version: 3.38
options { threaded(yes); stats_freq(0); };
source s_file { file("$WORK/app.log" flags(no-parse) follow-freq(0.1) log-fetch-limit(1000) log-iw-size(10000)); };
parser p_line {
  regexp-parser(prefix(".p.") patterns('^(?<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?<level>\w+) \[(?<logger>[^\]]+)\] (?<message>.*?status=(?<status>\d+) duration_ms=(?<duration>\d+) trace_id=(?<trace>[0-9a-f]+).*)\$'));
};
destination d_kafka {
  kafka-c(bootstrap-servers("$BROKER") topic("bench.syslogng") config("compression.codec" => "zstd" "linger.ms" => "5")
          message("\$(format-json --scope none @timestamp=\${.p.time} log.level=\${.p.level} log.logger=\${.p.logger} message=\${.p.message} trace.id=\${.p.trace} http.response.status_code=int(\${.p.status}) event.duration_ms=int(\${.p.duration}))"));
};
log { source(s_file); parser(p_line); destination(d_kafka); flags(flow-control); };
CONF
  LD_LIBRARY_PATH=$SNG/usr/lib/syslog-ng ship_daemon "syslog-ng regexp+json" bench.syslogng "$SNG/usr/sbin/syslog-ng" -F \
    -f "$WORK/syslog-ng.conf" --module-path="$SNG/usr/lib/syslog-ng/3.38" -R "$WORK/sng.persist" -p "$WORK/sng.pid" -c "$WORK/sng.ctl"
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
declare -A CPU
for r in "${RESULTS[@]}"; do IFS='|' read -r name secs cpu rss bcpu <<<"$r"; CPU[$name]=$cpu; done
for peer in "kcat -P" "python raw lines" "rsyslog raw lines"; do
  [ -n "${RATE[$peer]:-}" ] && printf "agent / %-24s %.2fx lines/s (context: raw lines, no parsing)\n" "$peer" "$(echo "$agent / ${RATE[$peer]}" | bc -l)"
done
best=""
for peer in "rsyslog regex+jsonf" "syslog-ng regexp+json" "python re+json.dumps"; do
  [ -n "${RATE[$peer]:-}" ] || continue
  printf "agent / %-24s %.2fx lines/s, %.2fx CPU s per line\n" "$peer" "$(echo "$agent / ${RATE[$peer]}" | bc -l)" \
    "$(echo "${CPU["logship agent"]} / ${CPU[$peer]}" | bc -l)"
  { [ -z "$best" ] || [ "${RATE[$peer]}" -gt "${RATE[$best]}" ]; } && best=$peer
done
[ -n "$best" ] && printf "RATIO 1 (like-for-like): agent / best peer (%s) = %.2fx lines/s at %.2fx its CPU s per line (target >= 2x, <= 0.5x)\n" \
  "$best" "$(echo "$agent / ${RATE[$best]}" | bc -l)" "$(echo "${CPU["logship agent"]} / ${CPU[$best]}" | bc -l)"
printf "RATIO 2 (ceiling): agent / kcat -P of the agent's events = %.2fx (target >= 0.8x)\n" "$(echo "$agent / ${RATE["kcat -P agent's events"]}" | bc -l)"
printf "kcat -P agent's events / kcat -P: %.2fx (the agent's messages, key and event, are %.1fx the raw bytes: %s MiB)\n" \
  "$(echo "${RATE["kcat -P agent's events"]} / ${RATE["kcat -P"]}" | bc -l)" "$(echo "$EVENT_BYTES / $BYTES" | bc -l)" "$((EVENT_BYTES / 1048576))"
printf "MEMORY: agent peak RSS %.1f MB over the run, %.1f MB idle 5 s after its last acknowledgement (targets <= 30, <= 20)\n" \
  "$(echo "$AGENT_RSS / 1024" | bc -l)" "$(echo "$AGENT_IDLE_RSS / 1024" | bc -l)"
# Ratio 2 over alternated pairs (BENCH_PAIRS=N; 0, the default, skips it): on this VM the ceiling
# row moves by up to half between single runs (398k-699k lines/s for the same messages) and the
# agent's much less, so one run's ratio says little. N more pairs — the agent, then kcat -P of its
# events, each on a fresh broker, the agent from a fresh data directory — give each pair's ratio
# and the ratio of the means.
if [ "${BENCH_PAIRS:-0}" -gt 0 ]; then
  agent_sum=0; kcat_sum=0
  for pair in $(seq "$BENCH_PAIRS"); do
    fresh_broker logs.bench
    rm -rf "$WORK/agent"
    MPORT=$(free_port)
    bench_agent_config "$WORK/logship.yml" "$MPORT"
    run_agent "$WORK/logship.yml" "$MPORT" "$LINES"
    agent_rate=$(echo "$LINES / $AGENT_SECS" | bc)
    fresh_broker logs.bench
    start=$(date +%s.%N)
    kcat -P -b "$BROKER" -t logs.bench -K $'\t' -z zstd -X linger.ms=5 -X enable.idempotence=true -X acks=all \
      -X partitioner=murmur2_random -X compression.level=1 -l "$WORK/events.keyed"
    end=$(date +%s.%N)
    kcat_rate=$(echo "$LINES / ($end - $start)" | bc)
    agent_sum=$((agent_sum + agent_rate)); kcat_sum=$((kcat_sum + kcat_rate))
    printf "pair %d: agent %d lines/s, kcat -P agent's events %d lines/s, ratio %.2fx\n" "$pair" "$agent_rate" "$kcat_rate" \
      "$(echo "$agent_rate / $kcat_rate" | bc -l)"
  done
  printf "RATIO 2 over %d pairs: mean agent %d / mean kcat %d lines/s = %.2fx (target >= 0.8x)\n" "$BENCH_PAIRS" \
    "$((agent_sum / BENCH_PAIRS))" "$((kcat_sum / BENCH_PAIRS))" "$(echo "$agent_sum / $kcat_sum" | bc -l)"
fi
rm -f "$WORK/events.keyed"
# Instructions per line of the agent's pipeline (read, parse, mask, encode; no Kafka): callgrind
# over `logship parse --count` of 60,000 and of 1,000 lines, the difference per line.
if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  python3 bench/gen_python_log.py "$WORK/60k.log" 60000; head -n 1000 "$WORK/60k.log" >"$WORK/1k.log"
  # valgrind gives up on the static binary's debug info: a copy without it.
  strip --strip-debug -o "$WORK/logship-nodebug" "$LOGSHIP"
  instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$WORK/logship-nodebug" parse "$1" --config "$WORK/logship.yml" --service bench --count >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$WORK/cg.out"
  }
  big=$(instructions "$WORK/60k.log"); small=$(instructions "$WORK/1k.log")
  printf "INSTRUCTIONS: %d per line (callgrind, logship parse --count, 60,000 - 1,000 lines; target <= 8,000)\n" "$(( (big - small) / 59000 ))"
fi
