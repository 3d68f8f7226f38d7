"""File -> Kafka and file -> searchable latency of a running agent + indexer (issue 24).

Appends Python `logging` lines to FILE at RATE lines/s (in 10-ms slices, as a service would),
PROBES of them spread over the run carrying a unique trace id. Per probe it notes when the line
was written, when it was readable in Kafka (a consumer of TOPIC from its end) and when a search
of Elasticsearch (INDEX pattern, `trace.id`) first found it, and prints p50/p90/p99/max of both.

usage: latency_probe.py FILE BROKERS TOPIC ES_URL INDEX RATE PROBES [--json]
"""
import json
import random
import sys
import threading
import time
import urllib.request

from confluent_kafka import Consumer, TopicPartition

path, brokers, topic, es, index = sys.argv[1:6]
rate, probes = int(sys.argv[6]), int(sys.argv[7])
as_json = "--json" in sys.argv
rng = random.Random(7)
written, in_kafka, searchable = {}, {}, {}
lock = threading.Lock()
done = threading.Event()


def line(n, trace):
    t = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + ",%03d" % int(t * 1000 % 1000)
    return "%s INFO [payment.api] GET /api/orders status=200 duration_ms=%d trace_id=%s user=u%06d request handled ok\n" % (
        stamp, rng.randint(1, 2000), trace, n)


def kafka_watch():
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "latency-probe-%d" % time.time_ns(),
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10, "fetch.min.bytes": 1})
    meta = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    tps = []
    for p in meta:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        tps.append(TopicPartition(topic, p, high))
    consumer.assign(tps)
    ready.set()
    while not done.is_set():
        for m in consumer.consume(1000, 0.01):
            if m.error():
                continue
            value = m.value()
            i = value.find(b"feedface0b5e")
            if i >= 0:
                trace = value[i:i + 32].decode()
                with lock:
                    in_kafka.setdefault(trace, time.time())
    consumer.close()


def es_watch():
    while not done.is_set():
        with lock:
            pending = [t for t in written if t not in searchable]
        if pending:
            body = json.dumps({"size": len(pending), "_source": ["trace.id"],
                               "query": {"terms": {"trace.id": pending}}}).encode()
            request = urllib.request.Request("%s/%s/_search" % (es, index), data=body,
                                             headers={"Content-Type": "application/json"})
            try:
                hits = json.load(urllib.request.urlopen(request, timeout=5))["hits"]["hits"]
            except Exception:
                hits = []
            now = time.time()
            with lock:
                for hit in hits:
                    searchable.setdefault(hit["_source"]["trace"]["id"], now)
        time.sleep(0.05)  # 50 ms granularity: each search costs noida-db CPU the indexer needs


ready = threading.Event()
threads = [threading.Thread(target=kafka_watch), threading.Thread(target=es_watch)]
for t in threads:
    t.start()
ready.wait(30)
slice_lines = max(rate // 100, 1)
total_lines = rate * max(probes // 2, 30)  # the run: PROBES over at least 30 s, 2 probes a second
probe_at = set(int(i * total_lines / probes) + slice_lines // 2 for i in range(probes))
n, started = 0, time.time()
with open(path, "a") as f:
    while n < total_lines:
        chunk = []
        for _ in range(slice_lines):
            if n in probe_at:
                trace = "feedface0b5e%020x" % rng.getrandbits(80)
                chunk.append((trace, line(n, trace)))
            else:
                chunk.append((None, line(n, "%032x" % rng.getrandbits(128))))
            n += 1
        f.write("".join(text for _, text in chunk))
        f.flush()
        now = time.time()
        with lock:
            for trace, _ in chunk:
                if trace:
                    written[trace] = now
        # Steady rate: the next slice at its due time.
        delay = started + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
deadline = time.time() + 30
while time.time() < deadline:
    with lock:
        if len(searchable) >= len(written) and len(in_kafka) >= len(written):
            break
    time.sleep(0.05)
done.set()
for t in threads:
    t.join()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


rows = {}
for name, seen in (("file -> Kafka", in_kafka), ("file -> searchable", searchable)):
    delays = [seen[t] - written[t] for t in written if t in seen]
    rows[name] = {"probes": len(written), "seen": len(delays), "p50": pct(delays, 50), "p90": pct(delays, 90),
                  "p99": pct(delays, 99), "max": max(delays) if delays else float("nan")}
if as_json:
    print(json.dumps({"rate": rate, "rows": rows}))
else:
    for name, r in rows.items():
        print("%-20s %4d lines/s  %d/%d probes  p50 %.3f s  p90 %.3f s  p99 %.3f s  max %.3f s" % (
            name, rate, r["seen"], r["probes"], r["p50"], r["p90"], r["p99"], r["max"]))
