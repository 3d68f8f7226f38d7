"""Scrapes a Prometheus endpoint and checks it strictly: `promtool check metrics` (the
Prometheus project's own linter: syntax, HELP/TYPE, naming conventions) when installed, then
the reference parser (prometheus_client). Prints {"name{labels}": value} as JSON; with
--types, {"samples": {...}, "types": {"family": "counter|gauge|histogram"}} so a test can
require histograms. Any problem exits 1."""
import json
import shutil
import subprocess
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

args = [a for a in sys.argv[1:] if a != "--types"]
text = urllib.request.urlopen(args[0], timeout=10).read().decode()
promtool = shutil.which("promtool")
if promtool:
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    if lint.returncode != 0:
        sys.stderr.write("promtool check metrics:\n" + lint.stdout + lint.stderr)
        sys.exit(1)
out, types = {}, {}
for family in text_string_to_metric_families(text):
    types[family.name] = family.type
    for sample in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(sample.labels.items()))
        out[sample.name + ("{%s}" % labels if labels else "")] = sample.value
json.dump({"samples": out, "types": types} if "--types" in sys.argv else out, sys.stdout)
