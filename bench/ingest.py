"""Ingest: wrk against POST /payments of the API, of the bare endpoint served the same way
(the ceiling), and of the Go durable-ingest peer doing our job; plus GET /healthz of the API.
All in one run, alternating, so the ratios share the machine's noise."""

import resource
import shutil
import subprocess
import sys
import time
from functools import partial
from typing import Any

import orjson

from bench.infra import libpq, new_topics
from bench.procs import CPUS, Proc, Result, guarded, log
from bench.profile import Profiler
from bench.settings import BIN, BOOTSTRAP, INGEST_S, PEERS_BIN, ROOT, RUNS, service_env

WRK_SCRIPT = ROOT / "bench" / "wrk_payments.lua"


def wrk(url: str, seconds: int, connections: int = 64, post: bool = True) -> Result:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
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


def _measure(proc: Proc, path: str, post: bool = True) -> Result:
    cpu0 = proc.cpu_seconds()
    r = wrk(proc.url + path, INGEST_S, post=post)
    r["server_cpu_share"] = (proc.cpu_seconds() - cpu0) / (r["seconds"] * CPUS)
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
    main, _ = new_topics("ingest")
    go_main, _ = new_topics("ingest-go")
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=main)
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
            go = Proc([str(peer), "-addr", "127.0.0.1:{port}", "-brokers", BOOTSTRAP,
                       "-topic", go_main, "-database-url", libpq(url)], env, "ingest-go")
            procs.append(go)
            targets["go_peer"] = (go, "/payments", True)
        else:
            results["go_peer"] = [{"error": "not built (needs Go: bench/peers)"}]
        for name, (proc, _, _) in list(targets.items()):
            err = guarded(f"{name} start", partial(_ready, proc))
            if "error" in err:
                results[name] = [err]
                del targets[name]
        for name, (proc, path, post) in targets.items():  # warm-up: connections, statements
            guarded(f"{name} warm-up", partial(wrk, proc.url + path, 3, post=post))
        for i in range(RUNS):
            for name, (proc, path, post) in targets.items():
                r = guarded(f"ingest {name}", partial(_measure, proc, path, post))
                results.setdefault(name, []).append(r)
                log(f"ingest run {i + 1} {name}: {r.get('rps', 0):.0f} req/s, p99 "
                    f"{r.get('p99_us', 0) / 1000:.1f} ms {r.get('error', '')}")
        if "api" in targets:  # one more run, profiled, outside the medians
            api = targets["api"][0]
            spy = Profiler(api.proc.pid, INGEST_S // 2, "ingest-api")
            guarded("ingest api, profiled", partial(wrk, api.url + "/payments", INGEST_S))
            results["api_profile"] = spy.summary()
    finally:
        for proc in procs:
            proc.stop()
    return results
