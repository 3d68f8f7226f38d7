"""Validates rendered Kubernetes objects (the output of `kubectl kustomize`) against the API's
own models, as the Python `kubernetes` client generates them from the OpenAPI schema: each
object is deserialized into its kind's model (required fields checked) and serialized back; a
field the model does not know — a typo, a wrong level — is missing from the round trip and
reported. Exits 1 naming every problem.

usage: validate_k8s.py RENDERED.yaml"""
import json
import sys

import yaml
from kubernetes import client

MODELS = {
    ("v1", "Namespace"): "V1Namespace", ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "ConfigMap"): "V1ConfigMap", ("v1", "Secret"): "V1Secret", ("v1", "Service"): "V1Service",
    ("apps/v1", "DaemonSet"): "V1DaemonSet", ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("apps/v1", "Deployment"): "V1Deployment", ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
}


class Response:
    def __init__(self, data):
        self.data = json.dumps(data)


def dropped(original, roundtrip, path=""):
    """Keys of `original` that the model's round trip lost."""
    lost = []
    if isinstance(original, dict):
        for key, value in original.items():
            if not isinstance(roundtrip, dict) or key not in roundtrip:
                lost.append(f"{path}.{key}")
            else:
                lost += dropped(value, roundtrip[key], f"{path}.{key}")
    elif isinstance(original, list):
        for i, value in enumerate(original):
            lost += dropped(value, roundtrip[i] if isinstance(roundtrip, list) and i < len(roundtrip) else None, f"{path}[{i}]")
    return lost


api = client.ApiClient()
problems, count = [], 0
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if not doc:
        continue
    count += 1
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    model = MODELS.get((doc.get("apiVersion"), doc.get("kind")))
    if not model:
        problems.append(f"{name}: no model for {doc.get('apiVersion')} {doc.get('kind')}")
        continue
    try:
        obj = api.deserialize(Response(doc), model)
    except (ValueError, TypeError) as error:
        problems.append(f"{name}: {error}")
        continue
    for key in dropped(doc, api.sanitize_for_serialization(obj)):
        problems.append(f"{name}: unknown field {key}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{count} objects valid")
