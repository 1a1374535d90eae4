"""Offline checks of deploy/kubernetes/: every resource against the Kubernetes API schemas that
kubernetes-validate ships (strict: unknown fields fail), the KEDA ScaledObject against a JSON
Schema of its CRD (tests/unit/schemas/), and the promises the manifests make: probes, static
membership, scaling capped at the partition count, disruption budgets, stop timing.
"""

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from notification_consumer.config import Settings as ConsumerSettings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KEDA_SCHEMA = Path(__file__).parent / "schemas" / "keda-scaledobject-v1alpha1.yaml"
# Oldest Kubernetes minor still supported upstream when this was written, and the newest
# kubernetes-validate knows: the manifests must be valid for both.
KUBERNETES_VERSIONS = ("1.32.0", kubernetes_validate.latest_version())
# uvicorn's graceful drain (shared/service_kit/serve.py: timeout_graceful_shutdown).
UVICORN_DRAIN_S = 15
APP_PORTS = {"transaction-api": 8000, "notification-consumer": 8001}


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def workloads() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents()
            if d["kind"] in {"Deployment", "StatefulSet"}}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def config() -> dict[str, str]:
    data: dict[str, str] = find("ConfigMap", "paystream-config")["data"]
    return data


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)
    images = {image["name"] for image in kustomization["images"]}
    used = {c["image"] for d in documents() if d["kind"] in {"Deployment", "StatefulSet", "Job"}
            for c in d["spec"]["template"]["spec"]["containers"]}
    assert used == images


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_resource_is_valid_kubernetes(version: str) -> None:
    checked = 0
    for doc in documents():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 8


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The check above can fail: a misspelt probe field is an error, not ignored."""
    deployment = copy.deepcopy(find("Deployment", "transaction-api"))
    container(deployment)["readinessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def keda_validator() -> jsonschema.protocols.Validator:
    schema = yaml.safe_load(KEDA_SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(schema)
    return validator


def test_scaled_object_matches_the_keda_crd_schema() -> None:
    scaled = find("ScaledObject", "notification-consumer")
    errors = [e.message for e in keda_validator().iter_errors(scaled)]
    assert not errors
    wrong = copy.deepcopy(scaled)
    wrong["spec"]["maxReplicas"] = wrong["spec"].pop("maxReplicaCount")
    assert list(keda_validator().iter_errors(wrong)), "a misspelt field must fail"


def test_consumer_scaling_is_capped_at_the_partition_count() -> None:
    spec = find("ScaledObject", "notification-consumer")["spec"]
    target = spec["scaleTargetRef"]
    consumer = workloads()["notification-consumer"]
    assert (target["kind"], target["name"]) == (consumer["kind"], "notification-consumer")
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["maxReplicaCount"] == int(config()["KAFKA_TOPIC_PARTITIONS"])
    [trigger] = spec["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["consumerGroup"] == config()["KAFKA_GROUP_ID"]
    assert metadata["topic"] == config()["KAFKA_TOPIC"]
    assert metadata["bootstrapServers"] == config()["KAFKA_BOOTSTRAP_SERVERS"]
    # KEDA's Kafka scaler would otherwise allow more replicas than partitions.
    assert metadata.get("allowIdleConsumers", "false") == "false"
    assert int(metadata["lagThreshold"]) > 0


def test_probes_ready_on_readyz_alive_on_healthz() -> None:
    for name, port in APP_PORTS.items():
        spec = container(workloads()[name])
        assert {"name": "http", "containerPort": port} in spec["ports"]
        assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        env = {e["name"]: e.get("value") for e in spec.get("env", [])}
        assert env["PORT"] == str(port)


def test_consumer_uses_static_membership_from_its_stable_pod_name() -> None:
    consumer = workloads()["notification-consumer"]
    # Stable names: a replaced pod keeps its name, so it rejoins as the same static member.
    assert consumer["kind"] == "StatefulSet"
    assert consumer["spec"]["podManagementPolicy"] == "Parallel"
    env = {e["name"]: e for e in container(consumer)["env"]}
    source = env["KAFKA_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert source == "metadata.name"
    assert env["API_URL"]["value"] == "http://transaction-api:8000"
    headless = find("Service", consumer["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"


def test_every_workload_has_a_disruption_budget() -> None:
    budgets = [d for d in documents() if d["kind"] == "PodDisruptionBudget"]
    for name, workload in workloads().items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets
                    if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1, f"{name}: {len(matching)} budgets"
        spec = matching[0]["spec"]
        assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable") == 1, spec


def test_init_job_migrates_then_creates_topics() -> None:
    job = find("Job", "paystream-init")
    script = " ".join(container(job)["command"])
    steps = ["transaction-api migrate", "notification-consumer migrate",
             "notification-consumer create-topics"]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), script
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}
    assert job["spec"]["backoffLimit"] >= 1


def test_grace_periods_cover_the_drain() -> None:
    """SIGKILL must not cut a graceful stop short: uvicorn's drain, then for the consumer the
    batch in flight (STOP_TIMEOUT_S), for the API the preStop pause."""
    serve = (ROOT / "shared" / "service_kit" / "serve.py").read_text()
    assert f"timeout_graceful_shutdown={UVICORN_DRAIN_S}" in serve
    stop_timeout = ConsumerSettings.model_fields["stop_timeout_s"].default
    consumer = workloads()["notification-consumer"]["spec"]["template"]["spec"]
    assert consumer["terminationGracePeriodSeconds"] >= UVICORN_DRAIN_S + stop_timeout + 5
    api = workloads()["transaction-api"]["spec"]["template"]["spec"]
    pause = int(container(workloads()["transaction-api"])["lifecycle"]["preStop"]["exec"]
                ["command"][-1])
    assert api["terminationGracePeriodSeconds"] >= pause + UVICORN_DRAIN_S + 5


def test_pods_run_restricted() -> None:
    for doc in documents():
        if doc["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        spec = container(doc)
        assert spec["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert "memory" in spec["resources"]["limits"]


def test_config_holds_only_contract_variables_and_no_secret() -> None:
    allowed = {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_TOPIC", "KAFKA_DLQ_TOPIC", "KAFKA_GROUP_ID",
               "KAFKA_TOPIC_PARTITIONS", "LOG_LEVEL", "HOST"}
    assert set(config()) <= allowed
    assert not any(re.search(r"(?i)password|://[^/]*@", v) for v in config().values())
