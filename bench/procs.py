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


def stat_fields(stat: bytes) -> tuple[bytes, list[bytes]]:
    """A /proc/PID/stat line: (the command name, the fields after it; state first, then
    utime and stime at 11 and 12, cutime and cstime at 13 and 14)."""
    head, _, tail = stat.rpartition(b")")
    return head.partition(b"(")[2], tail.split()


class Proc:
    """A server under test: started, awaited, measured (CPU seconds, peak RSS)."""

    def __init__(self, argv: list[str], env: dict[str, str], name: str,
                 port: int | None = None, ready_path: str = "/readyz") -> None:
        self.port, self.name, self.ready_path = port or free_port(), name, ready_path
        self._final: tuple[float, float] | None = None  # CPU s, peak RSS MB once reaped
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
            if self.exited() is not None:
                raise RuntimeError(f"{self.name} exited; see bench/results/{self.name}.log")
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s")

    def exited(self) -> int | None:
        """The exit code once the process has ended; reaped here so its CPU time and peak
        memory are kept (from wait4) rather than lost with /proc."""
        if self.proc.returncode is None:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self._final = (usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
        return self.proc.returncode

    def cpu_seconds(self) -> float:
        if self._final is None:
            _, fields = stat_fields(Path(f"/proc/{self.proc.pid}/stat").read_bytes())
            if fields[0] != b"Z":
                return (int(fields[11]) + int(fields[12])) / CLK
            self.exited()  # a zombie: reap it, wait4 has its totals
        return self._final[0] if self._final is not None else float("nan")

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has had since it started."""
        if self._final is None:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
            self.exited()  # a zombie has no memory lines: reap it, wait4 has its peak
        return self._final[1] if self._final is not None else float("nan")

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


def interleaved(variants: dict[str, Callable[[], Result]], runs: int,
                label: str) -> dict[str, list[Result]]:
    """Every variant once per round, round after round (A B C, A B C, ...), so each sees the
    same drift of a shared machine; medians are taken over the rounds."""
    results: dict[str, list[Result]] = {name: [] for name in variants}
    for i in range(runs):
        for name, fn in variants.items():
            r = guarded(f"{label} {name}", fn)
            results[name].append(r)
            if "error" in r:
                log(f"{label} round {i + 1} {name}: FAILED {r['error']}")
            elif "rate" in r:
                log(f"{label} round {i + 1} {name}: {r['rate']:,.0f}/s in "
                    f"{r.get('seconds', 0):.1f}s")
            else:
                log(f"{label} round {i + 1} {name}: p50 {r.get('post_p50_ms', 0):.2f} ms")
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
