# Shared set-up of the benchmarks (sourced): a release build of logship and a fresh noida-db
# on free loopback ports, stopped with the work directory when the script exits.
# Sets LOGSHIP, BROKER, ES, NOIDA_PID; needs WORK.
cluster/bootstrap >/dev/null
swift build -c release --product logship >/dev/null
LOGSHIP=$(swift build -c release --show-bin-path)/logship
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bench_cleanup() { [ -n "${NOIDA_PID:-}" ] && kill "$NOIDA_PID" 2>/dev/null; rm -rf "$WORK"; }
trap bench_cleanup EXIT
KPORT=$(free_port); EPORT=$(free_port)
NOIDA=$(python3 -c 'import noida_db,os; print(os.path.join(os.path.dirname(noida_db.__file__),"noida-db"))')
"$NOIDA" start --only kafka,elasticsearch --kafka-port "$KPORT" --elasticsearch-port "$EPORT" --data-dir "$WORK/noida" >"$WORK/noida.log" 2>&1 &
NOIDA_PID=$!
BROKER=127.0.0.1:$KPORT; ES=http://127.0.0.1:$EPORT
for _ in $(seq 100); do "$LOGSHIP" doctor --brokers "$BROKER" --es-url "$ES" >/dev/null 2>&1 && break; sleep 0.2; done
