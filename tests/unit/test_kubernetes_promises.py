"""The promises deploy/kubernetes/ makes, checked on what kustomize builds: probes, static
membership, no replicas under KEDA, scaling capped at the partition count, migrations before
the server at the image's version, one disruption budget per pod, stop timing, restricted
pods, topology spread, network policies, scraping every pod once under the jobs the alert
rules name, and the roles split as `notification-consumer serve --roles ...`."""

from typing import Any

import pytest

from notification_consumer.config import Settings as ConsumerSettings
from tests.unit.deploy_tools import ROOT
from tests.unit.kustomize_builds import (
    build,
    find,
    main_container,
    pod_containers,
    selects,
    targets,
    workloads,
)

UVICORN_DRAIN_S = 15  # shared/service_kit/serve.py: timeout_graceful_shutdown
PORTS = {"transaction-api": 8000, "notification-consumer": 8001}
SPLIT = [t for t in targets() if "split-roles" in t or t == "prod"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("target", ["base", "prod"])
def test_probes_ports_and_migrations(target: str) -> None:
    for workload in workloads(build(target)):
        name = pod_labels(workload)["app.kubernetes.io/name"]
        container = main_container(workload)
        assert {"name": "http", "containerPort": PORTS[name]} in container["ports"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env["PORT"] == str(PORTS[name])
        # The init containers migrate with the same image as the server (so its version).
        init = workload["spec"]["template"]["spec"]["initContainers"]
        assert init[0]["command"] == [name, "migrate"], workload["metadata"]["name"]
        assert {c["image"] for c in init} == {container["image"]}


def test_the_members_create_the_topics_after_migrating() -> None:
    members = find(build("base"), "StatefulSet", "notification-consumer")
    steps = [c["command"] for c in members["spec"]["template"]["spec"]["initContainers"]]
    assert steps == [["notification-consumer", "migrate"],
                     ["notification-consumer", "create-topics"]]


@pytest.mark.parametrize("target", ["base", "prod", "dev+keda"])
def test_statefulset_has_no_replicas_and_static_membership(target: str) -> None:
    members = find(build(target), "StatefulSet", "notification-consumer")
    assert "replicas" not in members["spec"], "apply would reset what KEDA scaled"
    assert members["spec"]["podManagementPolicy"] == "Parallel"
    env = {e["name"]: e for e in main_container(members)["env"]}
    assert env["KAFKA_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["API_URL"]["value"] == "http://transaction-api:8000"
    headless = find(build(target), "Service", members["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"


def test_keda_scales_the_members_from_their_own_config_capped_at_the_partitions() -> None:
    docs = build("prod")
    spec = find(docs, "ScaledObject", "notification-consumer")["spec"]
    target = spec["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("StatefulSet", "notification-consumer")
    assert target["envSourceContainerName"] == "notification-consumer"
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert spec["maxReplicaCount"] == int(config["KAFKA_TOPIC_PARTITIONS"])
    assert 1 <= spec["minReplicaCount"] <= spec["fallback"]["replicas"] <= spec["maxReplicaCount"]
    [trigger] = spec["triggers"]
    metadata = trigger["metadata"]
    for key, variable in (("bootstrapServersFromEnv", "KAFKA_BOOTSTRAP_SERVERS"),
                          ("consumerGroupFromEnv", "KAFKA_GROUP_ID"),
                          ("topicFromEnv", "KAFKA_TOPIC")):
        assert metadata[key] == variable and variable in config
    assert "bootstrapServers" not in metadata
    assert metadata["allowIdleConsumers"] == "false"


@pytest.mark.parametrize("target", ["base", "dev", "prod", "base+split-roles"])
def test_every_pod_has_exactly_one_disruption_budget(target: str) -> None:
    docs = build(target)
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    for workload in workloads(docs):
        matching = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(workload))]
        assert len(matching) == 1, f"{workload['metadata']['name']}: {len(matching)} budgets"


@pytest.mark.parametrize("target", ["base", "prod"])
def test_grace_periods_cover_the_drain(target: str) -> None:
    serve = (ROOT / "shared" / "service_kit" / "serve.py").read_text()
    assert f"timeout_graceful_shutdown={UVICORN_DRAIN_S}" in serve
    stop_timeout = ConsumerSettings.model_fields["stop_timeout_s"].default
    for workload in workloads(build(target)):
        pod = workload["spec"]["template"]["spec"]
        pause = 0
        if "lifecycle" in main_container(workload):
            pause = int(main_container(workload)["lifecycle"]["preStop"]["exec"]["command"][-1])
        batch = stop_timeout if workload["kind"] == "StatefulSet" else 0
        need = pause + UVICORN_DRAIN_S + batch + 5
        assert pod["terminationGracePeriodSeconds"] >= need, workload["metadata"]["name"]


@pytest.mark.parametrize("target", ["base", "prod"])
def test_pods_run_restricted_and_spread(target: str) -> None:
    docs = build(target)
    assert docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for workload in workloads(docs):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod_containers(workload):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert "memory" in container["resources"]["limits"]
        keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        for constraint in pod["topologySpreadConstraints"]:
            assert selects(constraint["labelSelector"], pod_labels(workload))


@pytest.mark.parametrize("target", ["base", "prod", "dev+split-roles"])
def test_network_policies_deny_by_default_and_open_each_http_port(target: str) -> None:
    docs = build(target)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert any(p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] for p in policies)
    for workload in workloads(docs):
        allowing = [p for p in policies if p["spec"]["podSelector"]
                    and selects(p["spec"]["podSelector"], pod_labels(workload))]
        assert len(allowing) == 1, workload["metadata"]["name"]
        assert [port["port"] for rule in allowing[0]["spec"]["ingress"]
                for port in rule["ports"]] == ["http"]


@pytest.mark.parametrize("target", ["prod", "base+monitoring", "dev+monitoring+split-roles"])
def test_service_monitor_scrapes_every_pod_once_as_its_job(target: str) -> None:
    """jobLabel app.kubernetes.io/name: the jobs are the names alerts.yml and the dashboard
    select, as in the compose stack."""
    docs = build(target)
    monitor = find(docs, "ServiceMonitor", "paystream")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    scraped = [s for s in docs if s["kind"] == "Service"
               and selects(monitor["spec"]["selector"], s["metadata"]["labels"])]
    for workload in workloads(docs):
        services = [s for s in scraped if selects(s["spec"]["selector"], pod_labels(workload))]
        assert len(services) == 1, f"{workload['metadata']['name']}: scraped {len(services)}x"
        job = services[0]["metadata"]["labels"]["app.kubernetes.io/name"]
        assert job == pod_labels(workload)["app.kubernetes.io/name"] in PORTS


@pytest.mark.parametrize("target", SPLIT)
def test_split_roles_run_each_role_once_and_route_rest_to_http(target: str) -> None:
    docs = build(target)
    roles: list[str] = []
    for workload in workloads(docs):
        if pod_labels(workload)["app.kubernetes.io/name"] == "notification-consumer":
            command = main_container(workload)["command"]
            assert command[:3] == ["notification-consumer", "serve", "--roles"], command
            roles += command[3].split(",")
    assert sorted(roles) == ["console", "http", "ingest", "webhooks"]
    rest = find(docs, "Service", "notification-consumer")
    [backend] = [w for w in workloads(docs) if selects(rest["spec"]["selector"], pod_labels(w))]
    assert main_container(backend)["command"][-1] == "http,console"


def test_without_split_the_members_run_every_role() -> None:
    members = find(build("base"), "StatefulSet", "notification-consumer")
    assert main_container(members)["command"] == ["notification-consumer", "serve"]
