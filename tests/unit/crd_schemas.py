"""JSON Schemas of the custom resources the manifests use (KEDA's, the Prometheus Operator's),
from the CRDs vendored in tests/unit/schemas/ (see vendor_crds.py there for where they come
from). One thing is added here: unknown fields fail. The API server would prune them silently,
so a misspelt field would vanish in the cluster; here it fails the test."""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).parent / "schemas"


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.startswith("^(?i)"):
            node["pattern"] = "(?i)^" + pattern[5:]  # Go allows the flag there, Python not
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def _metadata_free(schema: dict[str, Any]) -> dict[str, Any]:
    """CRD schemas leave metadata to the API server (ObjectMeta); check its usual fields."""
    schema = copy.deepcopy(schema)
    schema["properties"]["metadata"] = {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
                       "namespace": {"type": "string"},
                       "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                       "annotations": {"type": "object",
                                       "additionalProperties": {"type": "string"}}}}
    return schema


@cache
def validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    group, version = api_version.split("/")
    path = SCHEMAS / f"{group}_{kind.lower()}_{version}.json"
    assert path.is_file(), f"no vendored schema for {kind} {api_version} ({path.name})"
    schema = _metadata_free(_strict(json.loads(path.read_text())))
    schema.pop("$comment", None)
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    result: jsonschema.protocols.Validator = validator_class(schema)
    return result


def errors(doc: dict[str, Any]) -> list[str]:
    found = validator(doc["apiVersion"], doc["kind"]).iter_errors(doc)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]
