"""A mixed fleet's files for the same instants: `payment.log` in Python `logging` text, written
in this process's zone (run it with TZ of the text service's host), and `orders.log` in JSON by
python-json-logger with an explicit UTC offset (`%z` of the zone ORDERS_TZ, another host).
Usage: write_fleet_logs.py DIR COUNT START_EPOCH -> prints {"instants_ms": [...]}; record i of
each file is at START_EPOCH + i * 1.5 s and says "payment i" / "orders i"."""
import datetime
import json
import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter

directory, count, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
text = logging.FileHandler(os.path.join(directory, "payment.log"), mode="w")
text.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))


class OffsetFormatter(JsonFormatter):
    """`timestamp` as the JSON service writes it: ISO 8601 with the offset of its own zone."""
    zone = datetime.timezone(datetime.timedelta(hours=-5))

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        log_record["timestamp"] = datetime.datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="milliseconds")


structured = logging.FileHandler(os.path.join(directory, "orders.log"), mode="w")
structured.setFormatter(OffsetFormatter("%(levelname)s %(name)s %(message)s"))

instants = []
for i in range(count):
    t = start + i * 1.5
    level = logging.ERROR if i % 10 == 0 else logging.INFO
    for handler, name in ((text, "payment"), (structured, "orders")):
        record = logging.LogRecord(name, level, __file__, 1, f"{name} {i}", None, None)
        record.created = t
        record.msecs = int(round((t - int(t)) * 1000)) % 1000
        handler.handle(record)
    instants.append(int(t) * 1000 + int(round((t - int(t)) * 1000)) % 1000)
text.close()
structured.close()
print(json.dumps({"instants_ms": instants}))
