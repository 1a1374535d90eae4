"""deploy/kubernetes/ builds, offline, for every overlay and component combination, and what it
builds is valid: Kubernetes resources against the API schemas kubernetes-validate ships (strict:
an unknown field fails), KEDA's and the Prometheus Operator's resources against their CRDs'
schemas (tests/unit/crd_schemas.py)."""

import copy
import json
import re
from typing import Any

import kubernetes_validate
import pytest

from tests.unit.crd_schemas import errors as crd_errors
from tests.unit.deploy_tools import ROOT
from tests.unit.kustomize_builds import (
    NAMESPACES,
    build,
    build_overlay,
    build_text,
    find,
    main_container,
    targets,
    workloads,
)

# The oldest Kubernetes minor still supported upstream, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.32.0", kubernetes_validate.latest_version())
CRD_GROUPS = ("keda.sh/", "monitoring.coreos.com/")
ALL = targets()
# Documents already validated: most are the same in many builds, and one validation of one
# document takes kubernetes-validate about 0.1 s.
_VALID: set[str] = set()


def is_custom(doc: dict[str, Any]) -> bool:
    return str(doc["apiVersion"]).startswith(CRD_GROUPS)


@pytest.mark.parametrize("target", ALL)
def test_builds_and_every_resource_is_valid(target: str) -> None:
    for doc in build(target):
        key = json.dumps(doc, sort_keys=True)
        if key in _VALID:
            continue
        if is_custom(doc):
            assert not crd_errors(doc), (doc["kind"], crd_errors(doc))
        else:
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(doc, version, strict=True)
        _VALID.add(key)


def test_every_combination_is_checked() -> None:
    """Base and dev with each subset of keda/monitoring/split-roles (+keda-kafka-auth over
    keda), plus the overlays: 3 + 2 * 11."""
    assert len(ALL) == len(set(ALL)) == 25


def test_the_checks_can_fail() -> None:
    """A misspelt field is an error for both kinds of schema, not ignored."""
    docs = build("prod")
    deployment = copy.deepcopy(find(docs, "Deployment", "transaction-api"))
    main_container(deployment)["readinessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    for kind, name, field in (("ScaledObject", "notification-consumer", "maxReplicas"),
                              ("ServiceMonitor", "paystream", "jobLabels"),
                              ("PrometheusRule", "paystream", "group")):
        wrong = copy.deepcopy(find(docs, kind, name))
        wrong["spec"][field] = 1
        assert crd_errors(wrong), f"{kind}: a misspelt field must fail"


def test_the_base_and_dev_need_no_crd() -> None:
    """`kubectl apply -k` of either works on a cluster without KEDA or the Operator."""
    for target in ("base", "dev"):
        assert not [d["kind"] for d in build(target) if is_custom(d)]


@pytest.mark.parametrize("target", ["base", "dev", "prod", "dev+keda+monitoring+split-roles"])
def test_namespace_comes_first_and_holds_everything(target: str) -> None:
    """One apply creates the namespace before what lives in it (kustomize orders it first),
    so there is nothing to create by hand beforehand."""
    docs = build(target)
    namespace = NAMESPACES[target.split("+")[0]]
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == namespace
    for doc in docs[1:]:
        assert doc["metadata"].get("namespace") == namespace, (doc["kind"], doc["metadata"])


@pytest.mark.parametrize("target", ["base", "prod", "base+keda+keda-kafka-auth"])
def test_config_and_secret_are_generated_and_referenced_by_hash(target: str) -> None:
    """A changed value is a new name, so the pod templates change and the pods roll."""
    docs = build(target)
    generated = {d["kind"]: d["metadata"]["name"] for d in docs
                 if d["kind"] in {"ConfigMap", "Secret"}}
    assert re.fullmatch(r"paystream-config-[a-z0-9]{10}", generated["ConfigMap"])
    assert re.fullmatch(r"paystream-secrets-[a-z0-9]{10}", generated["Secret"])
    text = build_text(target)
    assert not re.search(r"name: paystream-(config|secrets)\s*$", text, re.MULTILINE)
    for workload in workloads(docs):
        pod = workload["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert refs == set(generated.values()), workload["metadata"]["name"]


def test_a_changed_value_changes_the_names() -> None:
    assert find(build("base"), "Namespace", "paystream")
    base = {d["metadata"]["name"] for d in build("base") if d["kind"] == "ConfigMap"}
    dev = {d["metadata"]["name"] for d in build("dev") if d["kind"] == "ConfigMap"}
    assert base != dev, "dev's LOG_LEVEL must give its ConfigMap another hash"


def test_trigger_authentication_reads_the_generated_secret() -> None:
    docs = build("base+keda+keda-kafka-auth")
    auth = find(docs, "TriggerAuthentication", "paystream-kafka")
    secret = next(d for d in docs if d["kind"] == "Secret")["metadata"]["name"]
    refs = auth["spec"]["secretTargetRef"]
    assert {ref["name"] for ref in refs} == {secret}
    assert {ref["parameter"] for ref in refs} == {"sasl", "username", "password", "tls"}
    [trigger] = find(docs, "ScaledObject", "notification-consumer")["spec"]["triggers"]
    assert trigger["authenticationRef"] == {"name": "paystream-kafka"}


def test_the_deployment_guide_builds_what_it_shows() -> None:
    """docs/deployment.md: each folder it applies is one of the builds above, and its example
    overlay (split roles and monitoring, no KEDA) builds and needs no KEDA."""
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    folders = set(re.findall(r"kubectl (?:apply -k|kustomize) deploy/kubernetes/(\S+)", guide))
    assert folders == {"base", "overlays/dev", "overlays/prod"}
    [example] = re.findall(r"```yaml\n(.*?)```", guide, re.DOTALL)
    assert "deploy/kubernetes/overlays/mine" in guide
    docs = build_overlay("mine", example)
    assert {"ServiceMonitor", "PrometheusRule"} <= {d["kind"] for d in docs}
    assert "ScaledObject" not in {d["kind"] for d in docs}
