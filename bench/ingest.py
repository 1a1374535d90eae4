"""Ingest: wrk against POST /payments of the API; of two API processes at once (the same
settings, two ports, one wrk each with half the connections: requests/s summed, the worse
p99, the mean of the p50s, both processes' CPU over all their requests); of the bare endpoint
served the same way (validation, no I/O); of the Go durable-ingest peer doing our job the way
the API does it, with the API's settings: one insert per request, the 202 once the row is
committed, the record published right after by one dispatcher goroutine and the rows marked
published in batches; of the same Go peer as the ceiling (group commit: the requests waiting
share one multi-row insert and one commit, answered after it, published the same way); and
GET /healthz of the API. Round by round, so the ratios share the noise. Each run also charges
PostgreSQL's and the Kafka broker's CPU and the WAL written to its requests (outside.py)."""

import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from bench.infra import libpq, new_topics
from bench.outside import charged
from bench.procs import CPUS, Proc, Result, guarded, interleaved
from bench.profile import Profiler
from bench.settings import (
    BIN,
    BOOTSTRAP,
    INGEST_S,
    PEERS_BIN,
    ROOT,
    RUNS,
    WRK_CONNECTIONS,
    service_env,
)
from transaction_api.config import Settings as ApiSettings

WRK_SCRIPT = ROOT / "bench" / "wrk_payments.lua"


def api_producer_settings() -> list[str]:
    """The API's defaults that the Go peer has a knob for: producer linger, pool size."""
    fields = ApiSettings.model_fields
    return ["-linger", f"{fields['producer_linger_ms'].default}ms",
            "-pool", str(fields["db_pool_size"].default)]


def group_commit_writers() -> int:
    return int(ApiSettings.model_fields["group_commit_writers"].default) or 4


def _wrk_argv(url: str, seconds: int, connections: int, post: bool) -> list[str]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), url]
    return argv if post else [*argv, "--", "GET"]  # the same summary script, GET requests


def wrk_many(urls: list[str], seconds: int, post: bool = True) -> list[Result]:
    """One wrk per URL, all at once, sharing WRK_CONNECTIONS; generator_cpu_share is theirs
    together."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    connections = max(1, WRK_CONNECTIONS // len(urls))
    runs = [subprocess.Popen(_wrk_argv(url, seconds, connections, post), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for url in urls]
    outs = []
    try:
        for run in runs:
            out, err = run.communicate(timeout=seconds + 60)
            if run.returncode:
                raise RuntimeError(f"wrk exited {run.returncode}: {err.strip()[-300:]}")
            outs.append(out)
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    results = []
    for out in outs:
        line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
        result: Result = orjson.loads(line.removeprefix("WRK_JSON "))
        result["seconds"] = result["duration_us"] / 1e6
        result["rps"] = result["rate"] = result["requests"] / result["seconds"]
        result["generator_cpu_share"] = cpu / (wall * CPUS)
        results.append(result)
    return results


def wrk(url: str, seconds: int, post: bool = True) -> Result:
    return wrk_many([url], seconds, post)[0]


def combined(runs: list[Result]) -> Result:
    """Several wrk runs against several servers as one load: requests and requests/s summed,
    the worse p95/p99/max, the mean of the p50s."""
    if len(runs) == 1:
        return runs[0]
    r: Result = {k: sum(x[k] for x in runs) for k in ("requests", "errors", "status_errors",
                                                        "rps")}
    r |= {k: max(x[k] for x in runs) for k in ("duration_us", "seconds", "p95_us", "p99_us",
                                               "max_us")}
    return r | {"rate": r["rps"], "p50_us": sum(x["p50_us"] for x in runs) / len(runs),
                "generator_cpu_share": runs[0]["generator_cpu_share"], "processes": len(runs)}


def measure(procs: list[Proc], path: str, post: bool = True) -> Result:
    """One wrk per server, at once; the servers' CPU over it, per request and as a share of
    the machine."""
    cpu0 = sum(p.cpu_seconds() for p in procs)
    r = combined(wrk_many([p.url + path for p in procs], INGEST_S, post=post))
    cpu = sum(p.cpu_seconds() for p in procs) - cpu0
    r["server_cpu_share"] = cpu / (r["seconds"] * CPUS)
    r["server_cpu_us_per_request"] = cpu / max(1, r["requests"]) * 1e6
    r["peak_rss_mb"] = max(p.peak_rss_mb() for p in procs)
    if r["errors"]:
        r["error"] = f"{r['errors']} failed requests ({r['status_errors']} non-2xx)"
    return r


def _ready(procs: list[Proc]) -> Result:
    for proc in procs:
        proc.wait_ready()
    return {}


def _warm(procs: list[Proc], path: str, post: bool) -> Result:
    return combined(wrk_many([p.url + path for p in procs], 3, post=post))


def bench_ingest(url: str) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=new_topics("ingest")[0])
    targets: dict[str, tuple[list[Proc], str, bool]] = {}
    results: dict[str, Any] = {}
    procs: list[Proc] = []
    try:
        api = Proc([str(BIN / "transaction-api")], env, "ingest-api")
        api2 = Proc([str(BIN / "transaction-api")], env, "ingest-api-2")
        ceiling = Proc([sys.executable, "-m", "bench.ceiling_app"], env, "ingest-ceiling")
        procs += [api, api2, ceiling]
        targets = {"api": ([api], "/payments", True), "api_2x": ([api, api2], "/payments", True),
                   "ceiling": ([ceiling], "/payments", True),
                   "api_healthz": ([api], "/healthz", False)}
        peer = PEERS_BIN / "durable-ingest"
        if peer.exists():
            for name, extra in (("go_peer", []),
                                ("go_ceiling", ["-group-commit", str(group_commit_writers())])):
                go = Proc([str(peer), "-addr", "127.0.0.1:{port}", "-brokers", BOOTSTRAP,
                           "-topic", new_topics(f"ingest-{name}")[0], "-database-url",
                           libpq(url), "-answer-after", "commit", *api_producer_settings(),
                           *extra], env, f"ingest-{name}")
                procs.append(go)
                targets[name] = ([go], "/payments", True)
        else:
            results["go_peer"] = results["go_ceiling"] = [
                {"error": "not built (needs Go: bench/peers)"}]
        for name, (servers, path, post) in list(targets.items()):
            started = guarded(f"{name} start", partial(_ready, servers))
            if "error" in started:
                results[name] = [started]
                del targets[name]
                continue
            guarded(f"{name} warm-up", partial(_warm, servers, path, post))
        variants: dict[str, Callable[[], Result]] = {
            name: charged(partial(measure, servers, path, post), url, "request",
                          lambda r: float(r["requests"]))
            for name, (servers, path, post) in targets.items()}
        results |= interleaved(variants, RUNS, "ingest")
        if "api" in targets:  # one more run, profiled, outside the medians
            spy = Profiler(api.proc.pid, INGEST_S // 2, "ingest-api")
            guarded("ingest api, profiled", partial(wrk, api.url + "/payments", INGEST_S))
            results["api_profile"] = spy.summary()
    finally:
        for proc in procs:
            proc.stop()
    return results
