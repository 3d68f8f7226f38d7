"""Scrapes a Prometheus endpoint and parses it with the reference parser (prometheus_client),
printing {"name{labels}": value} as JSON. A parse error exits non-zero."""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
out = {}
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(sample.labels.items()))
        out[sample.name + ("{%s}" % labels if labels else "")] = sample.value
json.dump(out, sys.stdout)
