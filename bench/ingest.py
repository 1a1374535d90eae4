"""Ingest: wrk against POST /payments of the API; of the bare endpoint served the same way
(validation, no I/O); of the Go durable-ingest peer doing our job one request at a time with
the API's settings; of the same Go peer as the ceiling (group commit and batched publish,
the same durability: the row committed, then the record acked by all in-sync replicas,
before the 202); and GET /healthz of the API. Round by round, so the ratios share the noise."""

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


def wrk(url: str, seconds: int, post: bool = True) -> Result:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    argv = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), url]
    if not post:  # the same summary script, with GET requests
        argv += ["--", "GET"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                         check=True).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result: Result = orjson.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["rate"] = result["rps"]
    result["seconds"] = result["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["generator_cpu_share"] = cpu / (wall * CPUS)
    return result


def measure(proc: Proc, path: str, post: bool = True) -> Result:
    """One wrk run; the server's CPU over it, per request and as a share of the machine."""
    cpu0 = proc.cpu_seconds()
    r = wrk(proc.url + path, INGEST_S, post=post)
    cpu = proc.cpu_seconds() - cpu0
    r["server_cpu_share"] = cpu / (r["seconds"] * CPUS)
    r["server_cpu_us_per_request"] = cpu / max(1, r["requests"]) * 1e6
    r["peak_rss_mb"] = proc.peak_rss_mb()
    if r["errors"]:
        r["error"] = f"{r['errors']} failed requests ({r['status_errors']} non-2xx)"
    return r


def _ready(proc: Proc) -> Result:
    proc.wait_ready()
    return {}


def bench_ingest(url: str) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=new_topics("ingest")[0])
    targets: dict[str, tuple[Proc, str, bool]] = {}
    results: dict[str, Any] = {}
    procs: list[Proc] = []
    try:
        api = Proc([str(BIN / "transaction-api")], env, "ingest-api")
        ceiling = Proc([sys.executable, "-m", "bench.ceiling_app"], env, "ingest-ceiling")
        procs += [api, ceiling]
        targets = {"api": (api, "/payments", True), "ceiling": (ceiling, "/payments", True),
                   "api_healthz": (api, "/healthz", False)}
        peer = PEERS_BIN / "durable-ingest"
        if peer.exists():
            for name, extra in (("go_peer", []),
                                ("go_ceiling", ["-group-commit", str(group_commit_writers())])):
                go = Proc([str(peer), "-addr", "127.0.0.1:{port}", "-brokers", BOOTSTRAP,
                           "-topic", new_topics(f"ingest-{name}")[0], "-database-url",
                           libpq(url), *api_producer_settings(), *extra], env, f"ingest-{name}")
                procs.append(go)
                targets[name] = (go, "/payments", True)
        else:
            results["go_peer"] = results["go_ceiling"] = [
                {"error": "not built (needs Go: bench/peers)"}]
        for name, (proc, path, post) in list(targets.items()):
            started = guarded(f"{name} start", partial(_ready, proc))
            if "error" in started:
                results[name] = [started]
                del targets[name]
                continue
            guarded(f"{name} warm-up", partial(wrk, proc.url + path, 3, post=post))
        variants: dict[str, Callable[[], Result]] = {
            name: partial(measure, proc, path, post) for name, (proc, path, post) in
            targets.items()}
        results |= interleaved(variants, RUNS, "ingest")
        if "api" in targets:  # one more run, profiled, outside the medians
            spy = Profiler(api.proc.pid, INGEST_S // 2, "ingest-api")
            guarded("ingest api, profiled", partial(wrk, api.url + "/payments", INGEST_S))
            results["api_profile"] = spy.summary()
    finally:
        for proc in procs:
            proc.stop()
    return results
