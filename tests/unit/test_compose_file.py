"""docker-compose.yml and its split-roles override, statically: services, environment,
ports (loopback only), health checks, start and stop order, images, mounts. `docker compose
config` runs where compose v2 is installed."""

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.unit.compose_files import (
    ALL_SERVICES,
    APP_ENV_NAMES,
    APP_SERVICES,
    COMPOSE_FILE,
    ENV_EXAMPLE,
    RESET,
    ROOT,
    SPLIT_FILE,
    bind_mounts,
    compose,
    docker_compose,
    dockerfile_stages,
    environment,
    load_compose,
    published_ports,
    service,
)


def test_compose_has_every_service() -> None:
    assert set(compose()["services"]) >= ALL_SERVICES


def test_app_services_use_only_contract_variables_and_compose_hostnames() -> None:
    for name in ("init", *APP_SERVICES):
        env = environment(service(name))
        unknown = set(env) - APP_ENV_NAMES
        assert not unknown, f"{name}: variables the services do not read: {sorted(unknown)}"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        url = urlsplit(env["DATABASE_URL"])
        assert url.scheme == "postgresql+asyncpg"
        assert (url.hostname, url.port, url.path) == ("postgres", 5432, "/paystream")
    for name, port in APP_SERVICES.items():
        env = environment(service(name))
        assert env["HOST"] == "0.0.0.0", f"{name} must listen on all interfaces in a container"
        assert env["PORT"] == str(port)


def test_every_published_port_binds_loopback_at_its_configurable_default() -> None:
    """Nothing answers on another interface, and .env moves each host port (the stack runs
    beside the local Kafka and PostgreSQL)."""
    defaults = {"transaction-api": 8000, "notification-consumer": 8001, "prometheus": 9090,
                "grafana": 3000, "kafka": 29092, "postgres": 5432, "jaeger": 16686}
    example = env_example()
    for name, spec in compose()["services"].items():
        for entry in spec.get("ports", []):
            assert re.fullmatch(r"127\.0\.0\.1:\$\{(\w+):-(\d+)\}:\d+", str(entry)), (name, entry)
            variable, default = re.findall(r"\$\{(\w+):-(\d+)\}", str(entry))[0]
            assert example[variable] == default, f".env.example must list {variable}={default}"
        for address, host, _target in published_ports(spec):
            assert address == "127.0.0.1", name
            assert host == defaults[name], (name, host)
    assert "KAFKA_HOST_PORT:-29092}" in environment(service("kafka"))["KAFKA_ADVERTISED_LISTENERS"]


def test_grafana_password_comes_from_the_env_and_prometheus_has_no_lifecycle_api() -> None:
    password = environment(service("grafana"))["GF_SECURITY_ADMIN_PASSWORD"]
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", password), password
    assert "GRAFANA_ADMIN_PASSWORD" in env_example()
    assert not any("lifecycle" in arg for arg in service("prometheus")["command"])


def env_example() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def test_healthchecks() -> None:
    for name in ("kafka", "postgres", *APP_SERVICES):
        check = service(name).get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        test = check["test"]
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name}: unexpected test {test!r}"
    assert "kafka-broker-api-versions.sh" in " ".join(service("kafka")["healthcheck"]["test"])
    assert "pg_isready" in " ".join(service("postgres")["healthcheck"]["test"])
    for name, port in APP_SERVICES.items():
        command = " ".join(service(name)["healthcheck"]["test"])
        assert "urllib" in command and f":{port}/healthz" in command, name


def test_start_order() -> None:
    init = service("init")["depends_on"]
    assert init["kafka"]["condition"] == "service_healthy"
    assert init["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        spec = service(name)
        assert spec["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert spec["restart"] == "unless-stopped"


def test_stop_grace_periods_cover_the_drain() -> None:
    """SIGKILL comes only after uvicorn's drain (15 s) and, for the consumer, the batch in
    flight (STOP_TIMEOUT_S); `make compose-test` checks both stop with exit code 0."""
    from notification_consumer.config import Settings

    serve = (ROOT / "shared" / "service_kit" / "serve.py").read_text(encoding="utf-8")
    assert "timeout_graceful_shutdown=15" in serve
    stop_timeout = Settings.model_fields["stop_timeout_s"].default

    def seconds(name: str) -> int:
        value = str(service(name)["stop_grace_period"])
        assert re.fullmatch(r"\d+s", value), value
        return int(value[:-1])

    assert seconds("transaction-api") >= 15 + 5
    assert seconds("notification-consumer") >= 15 + stop_timeout + 5


def test_init_migrates_both_schemas_then_creates_topics() -> None:
    command = service("init")["command"]
    script = command if isinstance(command, str) else " ".join(command)
    steps = [
        "transaction-api migrate",
        "notification-consumer migrate",
        "notification-consumer create-topics",
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, f"init must run {steps}: {script!r}"
    assert positions == sorted(positions)
    assert service("init").get("restart", "no") == "no"


def test_kafka_is_a_single_kraft_node_without_topic_auto_creation() -> None:
    env = environment(service("kafka"))
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://:9092" in env["KAFKA_LISTENERS"].split(",")
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    listeners = {item.split(":")[0] for item in env["KAFKA_LISTENERS"].split(",")}
    protocol_map = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert listeners <= set(protocol_map)
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "CLUSTER_ID: a base64 UUID"


def test_images_are_pinned_and_volumes_declared() -> None:
    data = compose()
    for name, spec in data["services"].items():
        if "build" in spec:
            continue
        image = spec["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image!r}"
    assert service("kafka")["image"].startswith("apache/kafka:")
    # Current majors: Prometheus 3, Grafana 12, Jaeger v2 (v1 is end-of-life).
    assert re.fullmatch(r"prom/prometheus:v3\.\d+\.\d+", service("prometheus")["image"])
    assert re.fullmatch(r"grafana/grafana:12\.\d+\.\d+", service("grafana")["image"])
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", service("jaeger")["image"])
    declared = set(data.get("volumes") or {})
    for name, spec in data["services"].items():
        for entry in spec.get("volumes", []):
            source = entry["source"] if isinstance(entry, dict) else str(entry).split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: named volume {source!r} not declared"


def test_every_mounted_and_built_file_exists() -> None:
    for name, spec in compose()["services"].items():
        for source, _ in bind_mounts(spec):
            assert source.startswith("./"), f"{name}: mount {source!r} outside the repository"
            assert (ROOT / source).exists(), f"{name}: {source} does not exist"
        build = spec.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            assert context.resolve() == ROOT, f"{name}: the build context must be the root"
            dockerfile = (
                build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            )
            assert (context / dockerfile).is_file(), f"{name}: {dockerfile} missing"
            target = build.get("target") if isinstance(build, dict) else None
            assert target in dockerfile_stages(), f"{name}: no stage {target!r}"


def test_compose_files_are_valid_for_docker_compose(tmp_path: Path) -> None:
    """`docker compose config` accepts the file and the split override, and refuses to run
    without a Grafana password."""
    command = docker_compose()
    if command is None:
        pytest.skip("docker compose is not installed")
    # An empty project folder for the .env lookup, so a developer's own .env cannot help.
    base = [*command, "--project-directory", str(tmp_path), "-f", str(COMPOSE_FILE)]
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}

    def config(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args, "config", "-q"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False, env={**env, **extra})

    refused = config()
    assert refused.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in refused.stderr
    for extra in ([], ["-f", str(SPLIT_FILE)]):
        result = config(*extra, GRAFANA_ADMIN_PASSWORD="a-password")
        assert result.returncode == 0, result.stderr


def test_split_override_runs_each_role_apart_with_the_consumers_settings() -> None:
    """docker-compose.split.yml: the same image three times, one role set each, every role
    once, the REST port on the http service."""
    split = load_compose(SPLIT_FILE)["services"]
    assert split["notification-consumer"]["command"][-2:] == ["--roles", "ingest"]
    assert split["notification-consumer"]["ports"] == RESET
    roles = []
    for name, spec in split.items():
        command = spec["command"]
        assert command[:3] == ["notification-consumer", "serve", "--roles"], name
        roles += command[3].split(",")
    assert sorted(roles) == ["console", "http", "ingest", "webhooks"]
    consumer = environment(service("notification-consumer"))
    for name in ("consumer-http", "consumer-webhooks"):
        spec = split[name]
        assert spec["build"] == service("notification-consumer")["build"]
        assert environment(spec) == consumer, f"{name}: not the consumer's settings"
        assert spec["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert {(a, p) for a, p, _ in published_ports(split["consumer-http"])} == {
        ("127.0.0.1", 8001)}
    assert "consumer-webhooks" not in {n for n, s in split.items() if s.get("ports")}
