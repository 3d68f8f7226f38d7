"""Writes Python `logging` lines as a service on this host would: run with TZ set to the host's
zone. The records' creation times are chosen (every 20 minutes across the zone's DST changes
of 2026, and ordinary hours), so the test knows the instant each line stands for.
Usage: write_zone_logs.py OUT.log  -> prints a JSON list of {"message", "epoch_ms", "fold"}."""
import datetime
import json
import logging
import sys

out = sys.argv[1]
handler = logging.FileHandler(out, mode="w")
handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
logger = logging.getLogger("billing")

instants = []
# Around the US spring-forward (2026-03-08 07:00 UTC) and fall-back (2026-11-01 06:00 UTC)
# changes, every 20 minutes for 4 hours each, plus ordinary days.
for start in (1772942400, 1793508000):  # 2026-03-08 04:00 UTC, 2026-11-01 04:00 UTC
    instants += [start + k * 1200 for k in range(13)]
instants += [1780000000.123, 1796148280.622, 1764583200.001]

manifest = []
for index, t in enumerate(instants):
    record = logging.LogRecord("billing", logging.INFO, __file__, 1, "charge %d", (index,), None)
    record.created = t
    record.msecs = int(round((t - int(t)) * 1000)) % 1000
    handler.handle(record)
    local = datetime.datetime.fromtimestamp(t)
    manifest.append({"message": f"charge {index}", "epoch_ms": int(t) * 1000 + record.msecs,
                     # The wall time also stood for another instant (the repeated hour): fold=1 is the later one.
                     "fold": local.fold})
handler.close()
print(json.dumps(manifest))
