#!/usr/bin/env bash
# Detector windowing path (issues 7, 22): events/s of ingest + window close + the signal models
# (five per service, scored every window) + rules on one core, 1,000 windows per service,
# release build. Target: >= 1,000,000 events/s. Run on demand: bench/detector.sh [EVENTS [E2E_EVENTS]]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product logship >/dev/null
LOGSHIP=$(swift build -c release --show-bin-path)/logship
for run in 1 2 3; do taskset -c 0 "$LOGSHIP" detect bench --events "${1:-5000000}"; done
# End to end (issue 23): consume + decode + count (counter) + merge + judge (judge) against
# librdkafka's mock cluster in process, committing each step in transactions; one and two
# detectors (both stages each) in one process.
for members in 1 2; do "$LOGSHIP" detect bench-kafka --events "${2:-300000}" --members "$members" 2>/dev/null | tail -1; done
