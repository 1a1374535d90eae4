"""Processes under test and the small measuring helpers every workload shares."""

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.settings import RESULTS

CLK = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1
Result = dict[str, Any]


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {datetime.now(UTC):%H:%M:%S}] {msg}\n")
    sys.stderr.flush()


class Proc:
    """A server under test: started, awaited, measured (CPU seconds, peak RSS)."""

    def __init__(self, argv: list[str], env: dict[str, str], name: str,
                 port: int | None = None, ready_path: str = "/readyz") -> None:
        self.port, self.name, self.ready_path = port or free_port(), name, ready_path
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.log = open(RESULTS / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [a.replace("{port}", str(self.port)) for a in argv],
            env={**env, "PORT": str(self.port), "HOST": "127.0.0.1"},
            stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see bench/results/{self.name}.log")
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has had since it started."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def __enter__(self) -> "Proc":
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def json_subprocess(argv: list[str], timeout: float) -> Result:
    """Run a measuring program that prints one JSON line last; its failure says why."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = out.stdout.strip().splitlines()
    result: Result = {}
    if lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = {}
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime -
                                                                  before.ru_stime)
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1][:300]
        result["error"] = result.get("error") or f"exit {out.returncode}: {tail}"
    return result


def guarded(name: str, fn: Callable[[], Result]) -> Result:
    """One measurement: its failure becomes a recorded result, never the end of the run."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - recorded in the results, the bench goes on
        log(f"{name} failed: {exc!r}")
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}


def runs_of(name: str, fn: Callable[[], Result], runs: int) -> list[Result]:
    results = []
    for i in range(runs):
        r = guarded(name, fn)
        if "error" in r:
            log(f"{name} run {i + 1}: FAILED {r['error']}")
        else:
            log(f"{name} run {i + 1}: {r.get('rate', 0):,.0f}/s in {r.get('seconds', 0):.1f}s")
        results.append(r)
    return results


def ok(results: list[Result]) -> list[Result]:
    return [r for r in results if "error" not in r]


def median_of(results: list[Result], key: str) -> float:
    values = [float(r[key]) for r in ok(results) if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
