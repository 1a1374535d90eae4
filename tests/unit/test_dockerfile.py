"""deploy/docker/Dockerfile and .dockerignore, statically."""

import json
import re
import tomllib

from tests.unit.compose_files import APP_SERVICES, DOCKERFILE, DOCKERIGNORE, ROOT, dockerfile_stages


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
