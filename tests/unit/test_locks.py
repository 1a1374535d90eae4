"""The dependency locks (requirements/*.txt, made by `make lock`): every package pinned with
hashes, the runtime pins the same in the development lock, nothing the image does not need
in the runtime one, and in step with pyproject.toml."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    text = (LOCKS / lock).read_text()
    found = {normal(m[1]): m[3] for m in map(PIN.match, text.splitlines()) if m}
    assert found, lock
    return found


def requirement_names(specs: list[str]) -> set[str]:
    return {normal(re.split(r"[\[<>=!~;\s]", spec, maxsplit=1)[0]) for spec in specs}


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt", "build.txt"])
def test_every_package_is_pinned_with_hashes(lock: str) -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", (LOCKS / lock).read_text())
    packages = [e for e in entries if PIN.match(e)]
    assert packages and all("--hash=sha256:" in e for e in packages), lock
    assert len(packages) == len(pins(lock)), f"{lock}: a package listed twice"


def test_runtime_pins_are_the_development_pins() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_locks_follow_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert requirement_names(project["dependencies"]) <= set(runtime), "run: make lock"
    assert requirement_names(project["optional-dependencies"]["dev"]) <= set(dev)


def test_the_image_lock_holds_no_tools_and_no_reloader() -> None:
    runtime = set(pins("runtime.txt"))
    # uvicorn[standard]'s file watcher and websockets serve nothing here; tests stay out.
    assert not runtime & {"watchfiles", "websockets", "pytest", "mypy", "ruff", "uv",
                          "schemathesis", "selenium", "hypothesis"}
    assert {"uvloop", "httptools", "standardwebhooks", "sse-starlette"} <= runtime
