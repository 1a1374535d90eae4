"""deploy/kubernetes/ built with kustomize, offline: the base, each overlay, and the base and
the dev overlay with every combination of the components. The tree is built from a copy whose
base/secrets.env is the checked-in example, the way a user starts."""

import itertools
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import yaml

from tests.unit.deploy_tools import ROOT, kustomize

SOURCE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "prod")
# keda-kafka-auth only makes sense on top of keda.
COMPONENTS = ("keda", "monitoring", "split-roles")
NAMESPACES = {"base": "paystream", "dev": "paystream-dev", "prod": "paystream"}


def component_sets() -> Iterator[tuple[str, ...]]:
    for size in range(len(COMPONENTS) + 1):
        for chosen in itertools.combinations(COMPONENTS, size):
            yield chosen
            if "keda" in chosen:
                yield (*chosen, "keda-kafka-auth")


def targets() -> list[str]:
    """Names of every build: `base`, `dev`, `prod`, and `base+keda+monitoring`-style
    combinations of base or dev with components."""
    names = ["base", *OVERLAYS]
    for start in ("base", "dev"):
        names += ["+".join((start, *chosen)) for chosen in component_sets() if chosen]
    return names


@cache
def _tree() -> Path:
    copy = Path(mkdtemp(prefix="paystream-k8s-")) / "kubernetes"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("secrets.env"))
    shutil.copy(copy / "base" / "secrets.env.example", copy / "base" / "secrets.env")
    return copy


def _folder(target: str) -> Path:
    start, *chosen = target.split("+")
    tree = _tree()
    if not chosen:
        return tree / ("base" if start == "base" else f"overlays/{start}")
    folder = tree / "combinations" / target
    folder.mkdir(parents=True, exist_ok=True)
    start_dir = "../../base" if start == "base" else f"../../overlays/{start}"
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": NAMESPACES[start], "resources": [start_dir],
        "components": [f"../../components/{name}" for name in chosen]}))
    return folder


def _run_folder(folder: Path) -> tuple[int, str, str]:
    result = subprocess.run([*kustomize(), str(folder)], capture_output=True, text=True,
                            timeout=120, check=False)
    return result.returncode, result.stdout, result.stderr


def _run(target: str) -> tuple[int, str, str]:
    return _run_folder(_folder(target))


@cache
def _all_builds() -> dict[str, tuple[int, str, str]]:
    """Every target at once, four kustomize processes at a time (most of a build is startup)."""
    names = targets()
    for name in names:
        _folder(name)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(_run, names), strict=True))


def build_text(target: str) -> str:
    code, out, err = _all_builds()[target] if target in targets() else _run(target)
    assert code == 0, f"kustomize build {target} failed:\n{err}"
    return out


def build(target: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(build_text(target)) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}]


def pod_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def main_container(workload: dict[str, Any]) -> dict[str, Any]:
    [container] = workload["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and In/NotIn/Exists matchExpressions) against labels."""
    if "matchLabels" in selector or "matchExpressions" in selector:
        match = selector.get("matchLabels", {})
        expressions = selector.get("matchExpressions", [])
    else:
        match, expressions = selector, []  # a Service's plain map
    if not match.items() <= labels.items():
        return False
    for expr in expressions:
        value, op = labels.get(expr["key"]), expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
    return True


def build_overlay(name: str, kustomization: str) -> list[dict[str, Any]]:
    """A user's own overlay, deploy/kubernetes/overlays/NAME, built in the copy."""
    folder = _tree() / "overlays" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(kustomization)
    code, out, err = _run_folder(folder)
    assert code == 0, f"kustomize build overlays/{name} failed:\n{err}"
    return [doc for doc in yaml.safe_load_all(out) if doc]
