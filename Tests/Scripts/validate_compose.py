"""Validates compose/docker-compose.yml against the Compose Specification's JSON schema, as
shipped in the docker-compose 1.29.2 wheel (downloaded, not installed, by cluster/bootstrap
--test into .build-tools/; jsonschema does the checking). That schema predates the top-level
`name:` key, which is dropped before checking. Merge keys (<<: *anchor) are resolved by
PyYAML as Compose resolves them. Exits 1 naming every problem.

usage: validate_compose.py COMPOSE.yml WHEEL"""
import json
import sys
import zipfile

import jsonschema
import yaml

document = yaml.safe_load(open(sys.argv[1]))
schema = json.loads(zipfile.ZipFile(sys.argv[2]).read("compose/config/compose_spec.json"))
document.pop("name", None)
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path))
for error in errors:
    print("/".join(str(p) for p in error.path) + ": " + error.message)
if errors:
    sys.exit(1)
print("valid against the compose-spec schema")
