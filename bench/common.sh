# Shared set-up of the benchmarks (sourced): a release build of logship and a fresh noida-db
# on free loopback ports, stopped with the work directory when the script exits.
# Sets LOGSHIP, BROKER, ES, NOIDA_PID; needs WORK.
cluster/bootstrap >/dev/null
# Statically linked Swift runtime and Foundation: the single binary an edge host would get.
swift build -c release --product logship --static-swift-stdlib >/dev/null
LOGSHIP=$(swift build -c release --static-swift-stdlib --show-bin-path)/logship
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
fresh_noida
