#!/bin/sh
# Loads logship's Kibana objects once Kibana answers: data view logs-*, error rate by service,
# slow requests table, saved search by trace.id.
set -e
until curl -fs http://kibana:5601/api/status >/dev/null; do sleep 5; done
curl -fs -X POST "http://kibana:5601/api/saved_objects/_import?overwrite=true" \
  -H "kbn-xsrf: true" --form file=@/kibana/saved-objects.ndjson
echo "kibana-setup: objects loaded"
