"""The peer: a Python consumer (confluent-kafka) writing to Elasticsearch with the official
bulk helper, committing after each acknowledged batch. Exits when the group has no lag."""
import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from elasticsearch import Elasticsearch, helpers

brokers, es_url, topic, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
es = Elasticsearch(es_url, request_timeout=60)
consumer = Consumer({"bootstrap.servers": brokers, "group.id": "bench-python", "enable.auto.commit": False,
                     "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
done = 0
while done < total:
    messages = consumer.consume(2000, timeout=1.0)
    if not messages:
        continue
    actions = []
    for m in messages:
        doc = json.loads(m.value())
        day = doc["@timestamp"][:10].replace("-", ".")
        actions.append({"_op_type": "create", "_index": "bench-python-%s" % day, "_id": doc["event"]["id"], "_source": doc})
    for ok, item in helpers.streaming_bulk(es, actions, raise_on_error=False, chunk_size=2000):
        pass
    consumer.commit(asynchronous=False)
    done += len(messages)
consumer.close()
