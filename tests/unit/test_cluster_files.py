"""The 3-broker cluster's files: the compose override and the local script agree on what a
cluster is here (three voters, RF 3, min.insync.replicas=2, the services see all nodes)."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service_kit.kafka import KafkaSettings, replication

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
OVERRIDE = ROOT / "docker-compose.cluster.yml"
NODES = ("kafka", "kafka-2", "kafka-3")


def merged() -> dict[str, Any]:
    """docker compose's own merge when it is installed, else the override file alone."""
    docker = shutil.which("docker")
    if docker is not None:
        result = subprocess.run(
            [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "-f", str(OVERRIDE),
             "config"], capture_output=True, text=True, timeout=60, check=False)
        if result.returncode == 0:
            return dict(yaml.safe_load(result.stdout))
    return dict(yaml.safe_load(OVERRIDE.read_text()))


def test_three_kraft_voters_with_replication_three_and_min_isr_two() -> None:
    services = merged()["services"]
    envs = [services[name]["environment"] for name in NODES]
    assert {env["KAFKA_NODE_ID"] for env in envs} == {"1", "2", "3"}
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in envs}
    assert voters == {"1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"}
    for env in envs:
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    assert len({env["CLUSTER_ID"] for env in envs}) == 1
    advertised = [env["KAFKA_ADVERTISED_LISTENERS"] for env in envs]
    assert len(set(advertised)) == 3


def test_services_bootstrap_from_all_nodes_and_consumer_finds_the_api() -> None:
    services = merged()["services"]
    for name in ("init", "transaction-api", "notification-consumer"):
        env = services[name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092,kafka-2:9092,kafka-3:9092"
    assert services["notification-consumer"]["environment"]["API_URL"] == \
        "http://transaction-api:8000"
    assert set(services["init"]["depends_on"]) >= set(NODES)


@pytest.mark.parametrize(("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)),
                                                   (5, (3, 2))])
def test_topic_replication_follows_the_cluster_size(brokers: int,
                                                    expected: tuple[int, int]) -> None:
    assert replication(KafkaSettings(), brokers) == expected


def test_explicit_replication_settings_win_and_impossible_ones_are_refused() -> None:
    settings = KafkaSettings(kafka_replication_factor=2, kafka_min_insync_replicas=2)
    assert replication(settings, 3) == (2, 2)
    with pytest.raises(ValueError, match="exceeds"):
        replication(KafkaSettings(kafka_replication_factor=1, kafka_min_insync_replicas=2), 3)


def test_local_cluster_script_writes_the_same_promises() -> None:
    # cluster.sh writes its nodes' settings; what every local node shares is in kafka-node.sh.
    script = "".join((ROOT / "deploy" / "local" / name).read_text()
                     for name in ("cluster.sh", "kafka-node.sh"))
    for line in ("default.replication.factor=3", "min.insync.replicas=2",
                 "offsets.topic.replication.factor=3", "unclean.leader.election.enable=false",
                 "process.roles=broker,controller"):
        assert line in script
