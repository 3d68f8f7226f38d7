"""The like-for-like Python peer (issue 24): the script a user would write to ship Python
`logging` lines as JSON — read the file, `re` for the fields the agent extracts (time, level,
logger, message, trace id, status, duration), `json.dumps`, confluent-kafka (zstd)."""
import json
import re
import sys
from datetime import datetime, timezone

from confluent_kafka import Producer

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (\w+) \[([^\]]+)\] (.*)$")
FIELDS = re.compile(r"status=(\d+)|duration_ms=(\d+)|trace_id=([0-9a-f]+)")

path, brokers, topic = sys.argv[1], sys.argv[2], sys.argv[3]
p = Producer({"bootstrap.servers": brokers, "compression.type": "zstd", "linger.ms": 5,
              "queue.buffering.max.messages": 500000, "enable.idempotence": True})
with open(path, "r", encoding="utf-8", errors="replace") as f:
    for line in f:
        m = LINE.match(line.rstrip("\n"))
        if m:
            when = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            event = {"@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + m.group(2) + "Z", "message": m.group(5),
                     "log": {"level": m.group(3), "logger": m.group(4)}}
            for status, duration, trace in FIELDS.findall(m.group(5)):
                if status:
                    event.setdefault("http", {"response": {}})["response"]["status_code"] = int(status)
                elif duration:
                    event.setdefault("event", {})["duration"] = int(duration) * 1_000_000
                elif trace:
                    event["trace"] = {"id": trace}
        else:
            event = {"message": line.rstrip("\n")}
        value = json.dumps(event).encode()
        while True:
            try:
                p.produce(topic, value)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
p.flush()
