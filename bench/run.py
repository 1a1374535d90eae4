"""`make bench`: reproducible workloads against the real local stack, side by side with their
ceilings and peers measured in the same run, every variant interleaved round by round.
Writes bench/results/latest.md and latest.json, and (a full run: no BENCH_QUICK, no
BENCH_ONLY, BENCH_RUNS >= 3) the generated part of BENCHMARKS.md.

Workloads, in order (BENCH_ONLY=a,b picks some; see bench/settings.py for the sizes):
  single       one request at a time, no load: cold and warm POST, /healthz, the Go peer
  ingest       wrk against the API (one and two processes), the bare endpoint, the Go peer
               and the Go ceiling; PostgreSQL's and Kafka's CPU per request
  drain        a backlog -> our consumer (1, 2 and 3 processes), the Go peer, the ceilings;
               PostgreSQL's and Kafka's CPU per event
  write_paths  the consumer's batch transaction, path by path, raw asyncpg
  decode       the consumer's decode, three ways
  latency      open loop at a fixed rate -> POST-to-committed percentiles
  expiry, otel, webhooks
The report ends with a capacity model built from this run's figures (report_capacity.py).
A failing measurement is recorded in the results and the run goes on.
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import report, report_extras
from bench.doc import update_benchmarks_md
from bench.drain import bench_drain
from bench.expiry import bench_expiry
from bench.infra import bench_database, delete_created_topics, libpq, run_sql
from bench.ingest import bench_ingest
from bench.latency import bench_latency
from bench.otel import bench_otel
from bench.procs import json_subprocess, log
from bench.settings import ONLY, QUICK, RESULTS, RUNS, WRITE_PATH_EVENTS
from bench.single import bench_single
from bench.webhooks import bench_webhooks


def bench_write_paths(url: str) -> dict[str, Any]:
    by_batch = {}
    for batch in (500, 2000):
        by_batch[str(batch)] = json_subprocess(
            [sys.executable, "-m", "bench.write_paths", libpq(url), str(WRITE_PATH_EVENTS),
             str(batch), str(RUNS)], 1800)
    return {"by_batch": by_batch}


def bench_decode(_: str) -> dict[str, Any]:
    n = "5000" if QUICK else "50000"
    return json_subprocess([sys.executable, "-m", "bench.decode", n, "500"], 600)


WORKLOADS: dict[str, tuple[Callable[[str], dict[str, Any]], report.Section]] = {
    "single": (bench_single, report.single),
    "ingest": (bench_ingest, report.ingest),
    "drain": (bench_drain, report.drain),
    "write_paths": (bench_write_paths, report_extras.write_paths),
    "decode": (bench_decode, report_extras.decode),
    "latency": (bench_latency, report.latency),
    "expiry": (bench_expiry, report_extras.expiry),
    "otel": (bench_otel, report_extras.otel),
    "webhooks": (bench_webhooks, report_extras.webhooks),
}


def kafka_version() -> str:
    """The local broker's version, from its libs-VERSION class path (KAFKA_VERSION if none)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:
            continue
        if b"kafka.Kafka" in argv and (found := re.search(rb"libs-([0-9]+(?:\.[0-9]+)+)", argv)):
            return found.group(1).decode()
    return os.environ.get("KAFKA_VERSION", "?")


def machine(url: str) -> dict[str, str]:
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
    try:
        postgres = str(run_sql(url, "SHOW server_version")[0][0]).split()[0]
    except Exception:  # noqa: BLE001 - only a blank in the report
        postgres = "?"
    load = os.getloadavg()
    return {"cpu": f"{cpu} x {os.cpu_count()}", "memory_gib": f"{int(mem) / 1024 / 1024:.1f}",
            "python": platform.python_version(), "kafka": kafka_version(),
            "postgres": postgres, "go": go, "versions": ", ".join(versions),
            "load_before": f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"}


def measure(name: str, fn: Callable[[str], dict[str, Any]], url: str) -> dict[str, Any]:
    log(f"workload {name}")
    try:
        return fn(url)
    except Exception as exc:  # noqa: BLE001 - recorded in the results, the bench goes on
        log(f"{name} FAILED: {exc!r}")
        return {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {"machine": {}}
    try:
        url = bench_database()
        results["machine"] = machine(url)
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
    load = os.getloadavg()
    results["machine"] |= {"load_after": f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
                           "minutes": f"{(time.monotonic() - started) / 60:.0f}"}
    text = write(results)
    if QUICK or ONLY or RUNS < 3 or "error" in results:
        log("partial, quick or short run: BENCHMARKS.md left as it is (see "
            "bench/results/latest.md)")
    else:
        update_benchmarks_md(text)
        log("BENCHMARKS.md regenerated")
    sys.stdout.write(text + "\n")


def write(results: dict[str, Any]) -> str:
    text = report.render(results, {name: section for name, (_, section) in WORKLOADS.items()})
    if "error" in results:
        text += f"\n**The run stopped early: {results['error']}**\n"
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / "latest.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
