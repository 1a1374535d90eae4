"""Refreshes the CRD schemas in this folder from the projects' own releases on the Go module
proxy: `python tests/unit/schemas/vendor_crds.py` (network needed; the tests are offline).

Each JSON file is the openAPIV3Schema of one CustomResourceDefinition's served version, as
published in the module zip named in its "$comment", with the descriptions dropped (they are
most of the bytes and no check reads them). Nothing else is changed: the strictness about
unknown fields is added by the test (tests/unit/crd_schemas.py), not written here.
"""

import io
import json
import os
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PROXY = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")[0].rstrip("/")
# module, version, path inside the module, kind -> file written here
SOURCES = [
    ("github.com/kedacore/keda/v2", "v2.21.1", "config/crd/bases/keda.sh_scaledobjects.yaml"),
    ("github.com/kedacore/keda/v2", "v2.21.1",
     "config/crd/bases/keda.sh_triggerauthentications.yaml"),
    ("github.com/prometheus-operator/prometheus-operator", "v0.85.0",
     "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
    ("github.com/prometheus-operator/prometheus-operator", "v0.85.0",
     "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"),
]


def without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


def module_zip(module: str, version: str) -> zipfile.ZipFile:
    url = f"{PROXY}/{module.lower()}/@v/{version}.zip"
    with urllib.request.urlopen(url, timeout=120) as response:
        return zipfile.ZipFile(io.BytesIO(response.read()))


def main() -> int:
    zips: dict[tuple[str, str], zipfile.ZipFile] = {}
    for module, version, path in SOURCES:
        archive = zips.get((module, version)) or module_zip(module, version)
        zips[(module, version)] = archive
        crd = yaml.safe_load(archive.read(f"{module}@{version}/{path}"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for served in (v for v in crd["spec"]["versions"] if v.get("served")):
            schema = without_descriptions(served["schema"]["openAPIV3Schema"])
            schema = {"$comment": f"openAPIV3Schema of {kind} {group}/{served['name']} from "
                                  f"{module}@{version} {path}, descriptions dropped",
                      **schema}
            target = HERE / f"{group}_{kind.lower()}_{served['name']}.json"
            target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            sys.stdout.write(f"{target.name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
