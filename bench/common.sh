# Shared set-up of the benchmarks (sourced): a release build of logship and a fresh noida-db
# on free loopback ports, stopped with the work directory when the script exits.
# Sets LOGSHIP, LOGSHIP_AGENT, BROKER, ES, NOIDA_PID; needs WORK.
cluster/bootstrap >/dev/null
# Statically linked Swift runtime and Foundation: the single binary an edge host would get.
swift build -c release --product logship --static-swift-stdlib >/dev/null
swift build -c release --product logship-agent --static-swift-stdlib >/dev/null
LOGSHIP=$(swift build -c release --static-swift-stdlib --show-bin-path)/logship
# The agent as the packages run it: its own binary (the same role as `logship agent`).
LOGSHIP_AGENT=${LOGSHIP}-agent
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bench_cleanup() { [ -n "${NOIDA_PID:-}" ] && kill "$NOIDA_PID" 2>/dev/null; rm -rf "$WORK"; }
trap bench_cleanup EXIT
NOIDA=$(python3 -c 'import noida_db,os; print(os.path.join(os.path.dirname(noida_db.__file__),"noida-db"))')
# (Re)starts noida-db on fresh ports with an empty data directory: a writer measured after another
# would otherwise pay for the bigger store (noida-db slows as it grows).
fresh_noida() {
  [ -n "${NOIDA_PID:-}" ] && { kill "$NOIDA_PID" 2>/dev/null; wait "$NOIDA_PID" 2>/dev/null || true; }
  KPORT=$(free_port); EPORT=$(free_port); NOIDA_RUN=$((${NOIDA_RUN:-0} + 1))
  "$NOIDA" start --only kafka,elasticsearch --kafka-port "$KPORT" --elasticsearch-port "$EPORT" --data-dir "$WORK/noida-$NOIDA_RUN" >"$WORK/noida-$NOIDA_RUN.log" 2>&1 &
  NOIDA_PID=$!
  BROKER=127.0.0.1:$KPORT; ES=http://127.0.0.1:$EPORT
  for _ in $(seq 100); do "$LOGSHIP" doctor --brokers "$BROKER" --es-url "$ES" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "noida-db did not start: $(tail -3 "$WORK/noida-$NOIDA_RUN.log")" >&2; return 1
}
proc_cpu() { awk '{print ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# bench_agent_config FILE METRICS_PORT: the benchmarks' agent configuration, one Python input
# (service bench, $WORK/app.log) shipping to $BROKER, the defaults otherwise.
bench_agent_config() {
  cat >"$1" <<YAML
kafka: {brokers: ["$BROKER"], partitions: 6}
agent:
  data_dir: $WORK/agent
  metrics_listen: 127.0.0.1:$2
  inputs:
    - {service: bench, paths: ["$WORK/app.log"], format: python}
YAML
}
# run_agent CONFIG METRICS_PORT LINES: runs the agent until Kafka acknowledged LINES events (its own
# counter, read from its metrics endpoint every 50 ms), then SIGTERM. Sets AGENT_SECS, AGENT_CPU,
# AGENT_RSS (peak, kB), AGENT_BROKER_CPU (the broker's CPU seconds so far, read at the last ack: the
# idle wait below must not count noida-db's own work after an ingest), and with AGENT_IDLE_WAIT=N
# AGENT_IDLE_RSS (kB, N s after the last ack).
run_agent() {
  local start end agent
  start=$(date +%s.%N)
  "$LOGSHIP_AGENT" --config "$1" --log-level warning &
  agent=$!
  until curl -sf "http://127.0.0.1:$2/metrics" 2>/dev/null | grep -q "^logship_agent_events_sent_total{service=\"bench\"} $3\$"; do
    kill -0 $agent 2>/dev/null || { echo "agent died"; exit 1; }
    sleep 0.05
  done
  end=$(date +%s.%N)
  AGENT_CPU=$(proc_cpu $agent); AGENT_RSS=$(proc_rss $agent); AGENT_BROKER_CPU=$(proc_cpu "$NOIDA_PID")
  AGENT_SECS=$(echo "$end - $start" | bc)
  # AGENT_IDLE_WAIT seconds after the last acknowledgement: the resident set of the idle agent.
  if [ "${AGENT_IDLE_WAIT:-0}" != 0 ]; then sleep "$AGENT_IDLE_WAIT"; AGENT_IDLE_RSS=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status"); fi
  kill -TERM $agent; wait $agent || true
}
fresh_noida
