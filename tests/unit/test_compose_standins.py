"""The stand-in override (deploy/docker/compose.standins.yml) changes only what it must: the
images Docker Hub would provide, the app's base image, and Grafana behind a profile. What
users run (docker-compose.yml, deploy/docker/Dockerfile) never refers to the stand-ins or to
the CA bundle they carry."""

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.unit.compose_files import SPLIT_FILE, load_compose

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
OVERRIDE = DOCKER / "compose.standins.yml"
APP_SERVICES = {"init", "transaction-api", "notification-consumer"}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def standin_images() -> set[str]:
    listed = subprocess.run(["bash", str(DOCKER / "standins.sh"), "--list"], capture_output=True,
                            text=True, timeout=30, check=True)
    return set(listed.stdout.split())


def test_override_only_swaps_images_and_base_image() -> None:
    override = load(OVERRIDE)
    assert set(override) == {"services"}
    images = standin_images()
    for name, spec in override["services"].items():
        if name in APP_SERVICES:
            assert spec == {"build": {"args": {"PYTHON_IMAGE": "paystream-standin/python:3.11"}}}
        elif name == "grafana":
            assert spec == {"profiles": ["grafana"]}
        else:
            assert set(spec) == {"image"}, name
        for image in [spec.get("image"), spec.get("build", {}).get("args", {}).get("PYTHON_IMAGE")]:
            assert image is None or image in images, f"{name}: {image} is not built by standins.sh"


def test_every_pulled_image_has_a_standin_except_grafana_and_jaeger() -> None:
    services = load(ROOT / "docker-compose.yml")["services"]
    pulled = {name for name, spec in services.items() if "build" not in spec}
    swapped = {name for name, spec in load(OVERRIDE)["services"].items() if "image" in spec}
    # Grafana has no Debian package; Jaeger is behind the optional `tracing` profile.
    assert pulled - swapped == {"grafana", "jaeger"}
    assert services["jaeger"]["profiles"] == ["tracing"]
    assert set(services) - pulled == APP_SERVICES


def test_standin_folders_have_dockerfiles() -> None:
    folders = {p.parent.name for p in (DOCKER / "standins").glob("*/Dockerfile")}
    assert folders == {"kafka", "postgres", "prometheus", "python"}
    for folder in folders:
        text = (DOCKER / "standins" / folder / "Dockerfile").read_text(encoding="utf-8")
        assert "ARG BASE\nFROM ${BASE}" in text, folder


def test_user_files_never_carry_the_standins_or_the_ca_bundle() -> None:
    for path in (ROOT / "docker-compose.yml", DOCKER / "Dockerfile", ROOT / ".dockerignore"):
        text = path.read_text(encoding="utf-8")
        for word in ("standin", "ca-bundle", "ca-certificates.crt", "PIP_CERT"):
            assert word not in text, f"{path.name} mentions {word}"


def test_split_override_swaps_only_the_base_image_of_the_split_services() -> None:
    split = load(DOCKER / "compose.standins.split.yml")
    services = load_compose(SPLIT_FILE)["services"]
    built = {name for name, spec in services.items() if "build" in spec}
    assert set(split["services"]) == built == {"consumer-http", "consumer-webhooks"}
    for spec in split["services"].values():
        assert spec == {"build": {"args": {"PYTHON_IMAGE": "paystream-standin/python:3.11"}}}
