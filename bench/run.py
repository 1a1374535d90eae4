"""`make bench`: reproducible workloads against the real local stack, side by side with their
ceilings and peers measured in the same run. Writes bench/results/latest.md (+ .json).

Workloads, in order (BENCH_ONLY=a,b picks some; see bench/settings.py for the sizes):
  single       one POST at a time, no load, and GET /healthz the same way
  ingest       wrk against the API, the bare endpoint and the Go durable-ingest peer
  drain        a backlog -> our consumer (1 and 2 processes), ceilings, Go peers
  write_paths  the consumer's batch transaction, path by path, raw asyncpg
  decode       the consumer's decode, three ways
  latency      open loop at a fixed rate -> POST-to-committed percentiles
  expiry, otel, webhooks   features of other branches: measured when present
A failing measurement is recorded in the results and the run goes on.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import optional, report, report_extras
from bench.drain import bench_drain
from bench.infra import bench_database, delete_created_topics, libpq
from bench.ingest import bench_ingest
from bench.latency import bench_latency
from bench.procs import json_subprocess, log
from bench.settings import RESULTS, RUNS
from bench.single import bench_single
from bench.webhooks import bench_webhooks

WRITE_PATH_EVENTS = int(os.environ.get("BENCH_WRITE_PATH_EVENTS", "30000"))


def bench_write_paths(url: str) -> dict[str, Any]:
    by_batch = {}
    for batch in (500, 2000):
        by_batch[str(batch)] = json_subprocess(
            [sys.executable, "-m", "bench.write_paths", libpq(url), str(WRITE_PATH_EVENTS),
             str(batch), str(RUNS)], 1800)
    return {"by_batch": by_batch}


def bench_decode(_: str) -> dict[str, Any]:
    return json_subprocess([sys.executable, "-m", "bench.decode", "50000", "500"], 600)


WORKLOADS: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[..., list[str]]]] = {
    "single": (bench_single, report.single),
    "ingest": (bench_ingest, report.ingest),
    "drain": (bench_drain, report.drain),
    "write_paths": (bench_write_paths, report_extras.write_paths),
    "decode": (bench_decode, report_extras.decode),
    "latency": (bench_latency, report.latency),
    "expiry": (optional.bench_expiry, report_extras.expiry),
    "otel": (optional.bench_otel, report_extras.otel),
    "webhooks": (bench_webhooks, report_extras.webhooks),
}


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    versions = []
    for module in ("fastapi", "uvicorn", "aiokafka", "sqlalchemy", "asyncpg", "pydantic"):
        try:
            versions.append(f"{module} {version(module)}")
        except Exception:  # noqa: BLE001 - a missing version is only a blank
            versions.append(f"{module} ?")
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("go") else "Go absent"
    load = os.getloadavg()
    return {"cpu": f"{cpu} x {os.cpu_count()}", "memory_gib": f"{int(mem) / 1024 / 1024:.1f}",
            "python": platform.python_version(), "kafka": os.environ.get("KAFKA_VERSION", "3.9.1"),
            "go": go, "versions": ", ".join(versions),
            "load_before": f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"}


def measure(name: str, fn: Callable[[str], dict[str, Any]], url: str) -> dict[str, Any]:
    log(f"workload {name}")
    try:
        return fn(url)
    except optional.NotAvailable as exc:
        log(f"{name}: not available ({exc})")
        return {"not_available": str(exc)}
    except Exception as exc:  # noqa: BLE001 - recorded in the results, the bench goes on
        log(f"{name} FAILED: {exc!r}")
        return {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}


def main() -> None:
    from bench.settings import ONLY

    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                               "machine": machine()}
    try:
        url = bench_database()
        for name, (fn, _) in WORKLOADS.items():
            if not ONLY or name in ONLY:
                results[name] = measure(name, fn, url)
                write(results)  # what is measured so far survives a later crash
    except Exception as exc:  # noqa: BLE001 - e.g. no database: still write what we have
        log(f"bench setup failed: {exc!r}")
        results["error"] = repr(exc)
    finally:
        try:
            delete_created_topics()
        except Exception as exc:  # noqa: BLE001 - leftover topics are only disk space
            log(f"could not delete the bench topics: {exc!r}")
    results["machine"]["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    sys.stdout.write(write(results) + "\n")


def write(results: dict[str, Any]) -> str:
    text = report.render(results, {name: section for name, (_, section) in WORKLOADS.items()})
    if "error" in results:
        text += f"\n**The run stopped early: {results['error']}**\n"
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / "latest.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
