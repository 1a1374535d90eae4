"""The command-line tools the deployment checks run: kustomize and promtool, pinned and built by
`deploy/tools.sh install` (`make deploy-tools`, a prerequisite of `make test`). A test that
needs one skips, saying how to get it, only when it is not there."""

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOW = "make deploy-tools builds it from the Go module proxy (needs Go 1.26+)"


@cache
def _pinned(name: str) -> str | None:
    found = subprocess.run(["bash", str(ROOT / "deploy" / "tools.sh"), "path", name],
                           capture_output=True, text=True, timeout=30, check=False)
    return found.stdout.strip() or None


def kustomize() -> list[str]:
    """`kustomize build`, or kubectl's built-in copy of it when only kubectl is installed."""
    path = _pinned("kustomize") or shutil.which("kustomize")
    if path:
        return [path, "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    pytest.skip(f"kustomize is not installed: {HOW}")


def promtool() -> str:
    path = _pinned("promtool") or shutil.which("promtool")
    if path is None:
        pytest.skip(f"promtool is not installed: {HOW}")
    return path
