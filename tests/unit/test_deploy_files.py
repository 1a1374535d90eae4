"""Static checks of the container deployment: docker-compose.yml, deploy/docker/Dockerfile,
the Prometheus scrape config and alert rules, and the Grafana provisioning and dashboard.

No Docker engine and no network are needed. `docker compose config` and `promtool` are run
only where they are installed; those tests skip otherwise.
"""

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS_FILE = ROOT / "deploy" / "prometheus" / "alerts.yml"
GRAFANA_DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
GRAFANA_PROVIDERS = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards"
DASHBOARD_FILE = ROOT / "deploy" / "grafana" / "dashboards" / "payments.json"

# The application services (each runs the console script of the same name) and their ports.
APP_SERVICES = {"transaction-api": 8000, "notification-consumer": 8001}
ALL_SERVICES = {
    "kafka",
    "postgres",
    "init",
    *APP_SERVICES,
    "prometheus",
    "grafana",
}

# Every environment variable the services read (the product contract).
APP_ENV_NAMES = frozenset(
    {
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_TOPIC",
        "KAFKA_DLQ_TOPIC",
        "KAFKA_GROUP_ID",
        "KAFKA_TOPIC_PARTITIONS",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SSL_CAFILE",
        "DATABASE_URL",
        "API_KEYS",
        "API_URL",
        "KAFKA_GROUP_INSTANCE_ID",
        "HOST",
        "PORT",
        "LOG_LEVEL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    }
)

# Metrics the services export (names as exposed), plus Prometheus' own `up`.
HISTOGRAMS = frozenset(
    {
        "http_request_duration_seconds",
        "payment_publish_duration_seconds",
        "consumer_batch_size_records",
        "consumer_batch_processing_seconds",
        "consumer_end_to_end_latency_seconds",
        "webhook_delivery_latency_seconds",
    }
)
METRICS = HISTOGRAMS | {
    "http_requests_total",
    "payment_publish_failures_total",
    "payments_accepted_total",
    "outbox_backlog_events",
    "outbox_oldest_unpublished_age_seconds",
    "relay_published_total",
    "relay_publish_failures_total",
    "consumer_events_processed_total",
    "consumer_duplicates_total",
    "consumer_dead_letters_total",
    "consumer_rebalances_total",
    "consumer_transient_failures_total",
    "consumer_parked_keys",
    "consumer_parked_record_count",
    "consumer_oldest_parked_key_seconds",
    "consumer_drain_seconds",
    "consumer_lag_messages",
    "consumer_lag_seconds",
    "consumer_seconds_since_last_commit",
    "consumer_ready",
    "reconcile_missing_events",
    "reconcile_duplicate_effects",
    "reconcile_mismatched_events",
    "reconcile_last_success_timestamp_seconds",
    "reconcile_failures_total",
    "webhook_delivery_attempts_total",
    "webhook_deliveries_total",
    "webhook_oldest_undelivered_age_seconds",
    "webhook_subscriptions_disabled",
    "notification_stream_clients",
    "notification_stream_dropped_total",
}
PROMETHEUS_BUILTIN = frozenset({"up"})

# PromQL names that are not metrics: functions, aggregations and keywords.
PROMQL_FUNCTIONS = frozenset(
    {
        "abs",
        "absent",
        "absent_over_time",
        "avg",
        "avg_over_time",
        "bottomk",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "count",
        "count_over_time",
        "count_values",
        "day_of_month",
        "day_of_week",
        "delta",
        "deriv",
        "exp",
        "floor",
        "group",
        "histogram_quantile",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max",
        "max_over_time",
        "min",
        "min_over_time",
        "predict_linear",
        "present_over_time",
        "quantile",
        "quantile_over_time",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev",
        "stddev_over_time",
        "stdvar",
        "stdvar_over_time",
        "sum",
        "sum_over_time",
        "time",
        "timestamp",
        "topk",
        "vector",
    }
)
PROMQL_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
    }
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w$.:])[A-Za-z_:][\w:]*")


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"service {name} missing from docker-compose.yml"
    spec = services[name]
    assert isinstance(spec, dict)
    return spec


def environment(spec: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping (compose accepts a mapping or KEY=VALUE items)."""
    env = spec.get("environment") or {}
    if isinstance(env, list):
        pairs = [item.split("=", 1) for item in env]
        return {k: (v[0] if v else "") for k, *v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def published_ports(spec: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs from the short or long `ports` syntax."""
    result = set()
    for entry in spec.get("ports", []):
        if isinstance(entry, dict):
            result.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 1:
            continue  # container port only: an ephemeral host port
        result.add((int(parts[-2]), int(parts[-1])))
    return result


def bind_mounts(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of the service's bind mounts (sources as written in the file)."""
    mounts = []
    for entry in spec.get("volumes", []):
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts.append((str(entry["source"]), str(entry["target"])))
            continue
        source, target = str(entry).split(":")[:2]
        if source.startswith((".", "/", "~")):
            mounts.append((source, target))
    return mounts


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)$", line, re.IGNORECASE)
        if match:
            current = stages.setdefault(match.group(1), [])
        current.append(line)
    return stages


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects. Raises on a name followed by `(` that is not a
    PromQL function, so that a misspelt function is not taken for a metric either."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):
            assert name in PROMQL_FUNCTIONS, f"unknown PromQL function {name!r} in {expr!r}"
        elif name not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def known_metric(name: str) -> bool:
    if name in METRICS or name in PROMETHEUS_BUILTIN:
        return True
    base, _, suffix = name.rpartition("_")
    return suffix in {"bucket", "sum", "count"} and base in HISTOGRAMS


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(ALERTS_FILE)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dashboard_panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # panels inside collapsed rows
    return panels


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel.get("targets", [])]


# --- docker-compose.yml ------------------------------------------------------------------------


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


def test_app_ports_are_published_as_in_the_local_setup() -> None:
    for name, port in APP_SERVICES.items():
        assert (port, port) in published_ports(service(name)), f"{name}: {port}:{port} missing"
    assert (9090, 9090) in published_ports(service("prometheus"))
    assert (3000, 3000) in published_ports(service("grafana"))


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
    assert service("kafka")["image"] == "apache/kafka:3.9.1"
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


def test_compose_file_is_valid_for_docker_compose() -> None:
    command = _docker_compose()
    if command is None:
        pytest.skip("docker compose is not installed")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _docker_compose() -> list[str] | None:
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        try:
            version = subprocess.run(
                [*command, "version", "--short"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        # Compose v1 (docker-compose 1.x) predates the compose spec used here.
        if version.returncode == 0 and re.match(r"v?([2-9]|\d\d)\.", version.stdout.strip()):
            return command
    return None


# --- Dockerfile and .dockerignore --------------------------------------------------------------


def test_dockerfile_stages() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.MULTILINE)
    stages = dockerfile_stages()
    assert {"builder", "runtime", *APP_SERVICES} <= set(stages)
    # The image installs the runtime lock with its hashes, never the development one.
    assert any("--require-hashes -r requirements/runtime.txt" in line
               for line in stages["builder"])
    assert not any("dev.txt" in line for stage in stages.values() for line in stage)
    runtime = stages["runtime"]
    assert any(line.startswith("COPY --from=builder") for line in runtime)
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, "run as a non-root user"
    assert any("HOST=0.0.0.0" in line for line in runtime if line.startswith("ENV "))


def test_service_stages_run_their_console_script_with_a_healthcheck() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    stages = dockerfile_stages()
    for name, port in APP_SERVICES.items():
        assert name in scripts
        lines = stages[name]
        assert f"EXPOSE {port}" in lines
        assert f"ENV PORT={port}" in lines
        checks = [line for line in lines if line.startswith("HEALTHCHECK")]
        assert len(checks) == 1 and "urllib" in checks[0] and "/healthz" in checks[0]
        commands = [line for line in lines if line.startswith("CMD ")]
        assert commands and json.loads(commands[-1][4:]) == [name]


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for ignore in (".venv", ".local", ".git"):
        assert ignore in ignored
    needed = ["pyproject.toml", "README.md", "requirements", "services", "shared"]
    assert not ignored & set(needed), "the build context needs these"
    for lines in dockerfile_stages().values():
        for line in lines:
            if not line.startswith("COPY ") or "--from=" in line:
                continue
            for source in line.split()[1:-1]:
                if not any(ch in source for ch in "*?["):  # globs are optional files
                    assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


# --- Prometheus --------------------------------------------------------------------------------


def test_prometheus_scrapes_both_services_every_5s() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    interval = config["global"]["scrape_interval"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in APP_SERVICES.items():
        job = jobs[name]
        assert job.get("scrape_interval", interval) == "5s"
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for group in job["static_configs"] for t in group["targets"]]
        assert targets == [f"{name}:{port}"]
    services = set(compose()["services"])
    for job in jobs.values():
        for group in job["static_configs"]:
            for target in group["targets"]:
                host = target.rsplit(":", 1)[0]
                assert host in services | {"localhost"}, f"unknown scrape host {host!r}"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_CONFIG.parent / rule_file).is_file()


def test_prometheus_mount_matches_the_config_file_flag() -> None:
    spec = service("prometheus")
    mounts = dict(bind_mounts(spec))
    assert mounts["./deploy/prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in spec["command"]


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    assert names >= {
        "ServiceDown",
        "ConsumerLagGrowing",
        "ConsumerLagHigh",
        "DeadLettersArriving",
        "OutboxBacklogOld",
        "ConsumerNotCommitting",
        "ConsumerNotReady",
        "BooksDoNotBalance",
        "WebhookBacklogGrowing",
        "WebhookSubscriptionDisabled",
    }
    assert len(names) == len(rules), "alert names must be unique"
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{rule['alert']}: for"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_metric_name_parser() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="x", route!~"/m|/h"}'
        "[$__rate_interval]))) > 1 and on (partition) max by (partition) (b) > 0 "
        "unless deriv(c[5m:30s]) > 0"
    )
    assert metric_names(expr) == {"a_bucket", "b", "c"}
    with pytest.raises(AssertionError):
        metric_names("sun(b)")
    assert known_metric("http_request_duration_seconds_bucket")
    assert not known_metric("http_requests_total_bucket")


def test_metric_list_matches_the_code() -> None:
    """The metric names listed above are the ones the services define."""
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][\w:]*)\"")
    defined: dict[str, str] = {}
    for folder in ("services", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            for kind, name in pattern.findall(path.read_text(encoding="utf-8")):
                defined[name] = kind
    assert set(defined) >= METRICS, f"not defined in code: {sorted(METRICS - set(defined))}"
    assert {name for name, kind in defined.items() if kind == "Histogram"} >= HISTOGRAMS


def test_alerts_reference_only_exported_metrics() -> None:
    for rule in alert_rules():
        names = metric_names(str(rule["expr"]))
        assert names, f"{rule['alert']}: no metric in {rule['expr']!r}"
        unknown = {name for name in names if not known_metric(name)}
        assert not unknown, f"{rule['alert']} uses unknown metrics {sorted(unknown)}"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed")
    return path


def test_promtool_accepts_config_and_rules() -> None:
    promtool = _promtool()
    for args in (["check", "config", str(PROMETHEUS_CONFIG)], ["check", "rules", str(ALERTS_FILE)]):
        result = subprocess.run(
            [promtool, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_alert_expressions_on_sample_series(tmp_path: Path) -> None:
    """Evaluates the rules' own expressions on made-up series (promtool test rules)."""
    promtool = _promtool()
    rules = {rule["alert"]: rule for rule in alert_rules()}
    exprs = {name: str(rule["expr"]) for name, rule in rules.items()}
    consumer = 'job="notification-consumer", instance="notification-consumer:8001"'
    # A second consumer replica that stays ready.
    replica = 'job="notification-consumer", instance="notification-consumer-2:8001"'
    not_ready = rules["ConsumerNotReady"]
    not_ready_instance = "notification-consumer:8001"
    tests = [
        {
            "interval": "30s",
            "input_series": [
                {
                    "series": 'up{job="transaction-api", instance="transaction-api:8000"}',
                    "values": "1 1 0 0 0 0 0 0",
                },
                # Partition 0: lag growing by 200 every 30 s; partition 1: idle, no lag.
                {
                    "series": f'consumer_lag_messages{{{consumer}, partition="0"}}',
                    "values": "0+200x40",
                },
                {"series": f'consumer_lag_messages{{{consumer}, partition="1"}}', "values": "0x40"},
                {
                    "series": f'consumer_seconds_since_last_commit{{{consumer}, partition="0"}}',
                    "values": "0+30x40",
                },
                {
                    "series": f'consumer_seconds_since_last_commit{{{consumer}, partition="1"}}',
                    "values": "0+30x40",
                },
                {
                    "series": f'consumer_dead_letters_total{{{consumer}, reason="poison"}}',
                    "values": "0 0 0 1 1 1 1 1",
                },
                {
                    "series": 'outbox_oldest_unpublished_age_seconds{job="transaction-api"}',
                    "values": "0+30x10",
                },
                # The first replica stops being ready at 1m; the second stays ready.
                {"series": f"consumer_ready{{{consumer}}}", "values": "1 1 0x20"},
                {"series": f"consumer_ready{{{replica}}}", "values": "1x22"},
            ],
            "promql_expr_test": [
                {
                    "expr": exprs["ServiceDown"],
                    "eval_time": "2m",
                    "exp_samples": [
                        {
                            "labels": 'up{job="transaction-api", instance="transaction-api:8000"}',
                            "value": 0,
                        }
                    ],
                },
                {"expr": exprs["ServiceDown"], "eval_time": "30s", "exp_samples": []},
                # Lag 200 per sample: 6000 at 15m, growing.
                {
                    "expr": exprs["ConsumerLagGrowing"],
                    "eval_time": "15m",
                    "exp_samples": [{"labels": "{}", "value": 6000}],
                },
                {"expr": exprs["ConsumerLagGrowing"], "eval_time": "2m", "exp_samples": []},
                # Only partition 0 has lag; both have gone 180 s without a commit at 3m.
                {
                    "expr": exprs["ConsumerNotCommitting"],
                    "eval_time": "3m",
                    "exp_samples": [{"labels": '{partition="0"}', "value": 180}],
                },
                {"expr": exprs["ConsumerNotCommitting"], "eval_time": "1m", "exp_samples": []},
                {
                    "expr": exprs["DeadLettersArriving"],
                    "eval_time": "3m",
                    "exp_samples": [{"labels": '{reason="poison"}', "value": 1}],
                },
                {"expr": exprs["DeadLettersArriving"], "eval_time": "1m", "exp_samples": []},
                {
                    "expr": exprs["OutboxBacklogOld"],
                    "eval_time": "3m",
                    "exp_samples": [{"labels": "{}", "value": 180}],
                },
                {"expr": exprs["OutboxBacklogOld"], "eval_time": "1m", "exp_samples": []},
                {
                    "expr": exprs["ConsumerNotReady"],
                    "eval_time": "90s",
                    "exp_samples": [{"labels": f'{{instance="{not_ready_instance}"}}', "value": 0}],
                },
                {"expr": exprs["ConsumerNotReady"], "eval_time": "30s", "exp_samples": []},
            ],
            # ConsumerNotReady fires only once the consumer has been not ready for 2 minutes.
            "alert_rule_test": [
                {"alertname": "ConsumerNotReady", "eval_time": "2m30s", "exp_alerts": []},
                {
                    "alertname": "ConsumerNotReady",
                    "eval_time": "4m",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "instance": not_ready_instance,
                                "severity": not_ready["labels"]["severity"],
                            },
                            "exp_annotations": {
                                key: str(text).replace("{{ $labels.instance }}", not_ready_instance)
                                for key, text in not_ready["annotations"].items()
                            },
                        }
                    ],
                },
            ],
        }
    ]
    test_file = tmp_path / "alerts_test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [str(ALERTS_FILE)], "evaluation_interval": "30s", "tests": tests}
        )
    )
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana -----------------------------------------------------------------------------------


def test_grafana_datasource_points_at_the_prometheus_service() -> None:
    files = sorted(GRAFANA_DATASOURCES.glob("*.yml"))
    sources = [s for f in files for s in load_yaml(f)["datasources"]]
    prometheus = [s for s in sources if s["type"] == "prometheus"]
    assert len(prometheus) == 1
    url = urlsplit(prometheus[0]["url"])
    assert (url.hostname, url.port) == ("prometheus", 9090)
    assert "prometheus" in compose()["services"]
    assert prometheus[0]["uid"] == "prometheus"


def test_grafana_provider_reads_the_mounted_dashboards() -> None:
    providers = [
        p for f in sorted(GRAFANA_PROVIDERS.glob("*.yml")) for p in load_yaml(f)["providers"]
    ]
    mounts = dict(bind_mounts(service("grafana")))
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboards_dir = mounts["./deploy/grafana/dashboards"]
    assert [p["options"]["path"] for p in providers] == [dashboards_dir]


def test_dashboard_panels_query_prometheus() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    assert board["schemaVersion"] >= 36
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    graphs = [panel for panel in panels if panel["type"] != "row"]
    assert len(graphs) >= 10
    for panel in graphs:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert panel["datasource"]["uid"] == "prometheus"
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"]


def test_dashboard_references_only_exported_metrics() -> None:
    used: set[str] = set()
    for expr in dashboard_exprs():
        names = metric_names(expr)
        unknown = {name for name in names if not known_metric(name)}
        assert not unknown, f"unknown metrics {sorted(unknown)} in {expr!r}"
        used |= names
    for required in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "payment_publish_duration_seconds_bucket",
        "outbox_backlog_events",
        "outbox_oldest_unpublished_age_seconds",
        "consumer_events_processed_total",
        "consumer_end_to_end_latency_seconds_bucket",
        "consumer_lag_messages",
        "consumer_lag_seconds",
        "consumer_dead_letters_total",
        "consumer_duplicates_total",
        "consumer_rebalances_total",
        "consumer_ready",
        "reconcile_missing_events",
        "reconcile_duplicate_effects",
        "webhook_deliveries_total",
        "webhook_delivery_latency_seconds_bucket",
        "webhook_oldest_undelivered_age_seconds",
        "webhook_subscriptions_disabled",
    ):
        assert required in used, f"the dashboard does not chart {required}"
