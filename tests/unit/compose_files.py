"""docker-compose.yml and deploy/docker/Dockerfile as data, for the static checks of the
container deployment (test_compose_file.py, test_dockerfile.py, test_prometheus_files.py,
test_grafana_files.py). No Docker engine and no network are needed."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SPLIT_FILE = ROOT / "docker-compose.split.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS_FILE = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests"

# The application services (each runs the console script of the same name) and their ports.
APP_SERVICES = {"transaction-api": 8000, "notification-consumer": 8001}
ALL_SERVICES = {"kafka", "postgres", "init", *APP_SERVICES, "prometheus", "grafana"}
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
        "ADMIN_API_KEYS",
        "API_URL",
        "KAFKA_GROUP_INSTANCE_ID",
        "HOST",
        "PORT",
        "LOG_LEVEL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    }
)


_VARIABLE = re.compile(r"\$\{\w+(?::?-([^}]*)|:?\?[^}]*)?\}")
RESET = "!reset"


class _ComposeLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no type hints
    """Compose's own tags: `!reset` (an override that empties a value)."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: RESET)


def with_defaults(text: str) -> str:
    """Compose interpolation with no environment set: `${X:-d}` is d, `${X}` is empty."""
    return _VARIABLE.sub(lambda m: m.group(1) or "", text)


def load_compose(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_ComposeLoader)
    return data


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


def published_ports(spec: dict[str, Any]) -> set[tuple[str, int, int]]:
    """(host address, host port, container port) from the short `ports` syntax, the host port
    at its default. A port without an address would bind every interface: address "*"."""
    result = set()
    for entry in spec.get("ports", []):
        parts = with_defaults(str(entry)).split("/")[0].split(":")
        if len(parts) == 1:
            result.add(("*", 0, int(parts[0])))  # an ephemeral host port, all interfaces
            continue
        address = parts[-3] if len(parts) == 3 else "*"
        result.add((address, int(parts[-2]), int(parts[-1])))
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


def docker_compose() -> list[str] | None:
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
