#!/bin/sh
# Loads logship's Kibana objects once Kibana answers: data view logs-*, error rate by service,
# slow requests table, saved search by trace.id. Kibana answers 200 to an import that failed
# (`"success":false` with the errors): that is a failure here too, and the errors are shown.
set -e
until curl -fs http://kibana:5601/api/status >/dev/null; do sleep 5; done
answer=$(curl -fsS -X POST "http://kibana:5601/api/saved_objects/_import?overwrite=true" \
  -H "kbn-xsrf: true" --form file=@/kibana/saved-objects.ndjson)
case "$answer" in
  *'"success":true'*) echo "kibana-setup: objects loaded" ;;
  *) echo "kibana-setup: import failed: $answer" >&2; exit 1 ;;
esac
