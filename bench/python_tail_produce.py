"""The peer: a Python confluent-kafka loop that reads a file and produces each line (zstd)."""
import sys
from confluent_kafka import Producer

path, brokers, topic = sys.argv[1], sys.argv[2], sys.argv[3]
p = Producer({"bootstrap.servers": brokers, "compression.type": "zstd", "linger.ms": 5,
              "queue.buffering.max.messages": 500000, "enable.idempotence": True})
with open(path, "rb") as f:
    for line in f:
        while True:
            try:
                p.produce(topic, line.rstrip(b"\n"))
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
p.flush()
