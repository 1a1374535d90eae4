"""One request at a time, no load, like a user's curl: the first POST /payments a freshly
started API answers (cold: new process, new connection), and POSTs on a warmed-up API (warm),
next to GET /healthz on the same server (the HTTP floor) and the Go durable-ingest peer's POST.
Round by round (cold, warm, healthz, Go), BENCH_RUNS rounds; then the floors part by part.
The Go open-loop client sends far below what a server takes, so requests never overlap."""

from collections.abc import Callable
from typing import Any

from bench.floors import floors
from bench.infra import libpq, new_topics
from bench.ingest import api_producer_settings
from bench.procs import Proc, Result, guarded, interleaved, json_subprocess
from bench.settings import BIN, BOOTSTRAP, PEERS_BIN, RUNS, SINGLE_N, service_env

RATE = 25  # per second: one request every 40 ms, each taking a few ms


def _probe(url: str, method: str = "POST", n: int = SINGLE_N) -> Result:
    seconds = max(1, n // RATE)
    return json_subprocess([str(PEERS_BIN / "openloop"), "-url", url, "-method", method,
                            "-rate", str(min(RATE, n)), "-duration", f"{seconds}s",
                            "-prefix", "single"], seconds + 60)


def _cold(env: dict[str, str]) -> Result:
    """One POST, the first this process answers, as soon as it says it is ready."""
    with Proc([str(BIN / "transaction-api")], env, "single-cold-api") as api:
        api.wait_ready()
        r = _probe(f"{api.url}/payments", n=1)
    if r.get("accepted") != 1:
        r["error"] = r.get("error") or f"not accepted: {r}"
    return r


def bench_single(url: str) -> dict[str, Any]:
    if not (PEERS_BIN / "openloop").exists():
        raise RuntimeError("the open-loop client is built from bench/peers (needs Go)")
    main, _ = new_topics("single")
    go_topic, _ = new_topics("single-go")
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=main)
    results: dict[str, Any] = {}
    procs: list[Proc] = []
    try:
        api = Proc([str(BIN / "transaction-api")], env, "single-api")
        procs.append(api)
        api.wait_ready()
        _probe(f"{api.url}/payments", n=50)  # warm-up: connections, statements, metadata
        variants: dict[str, Callable[[], Result]] = {
            "cold": lambda: _cold(env),
            "post": lambda: _probe(f"{api.url}/payments"),
            "healthz": lambda: _probe(f"{api.url}/healthz", "GET"),
        }
        peer = PEERS_BIN / "durable-ingest"
        if peer.exists():
            go = Proc([str(peer), "-addr", "127.0.0.1:{port}", "-brokers", BOOTSTRAP,
                       "-topic", go_topic, "-database-url", libpq(url),
                       *api_producer_settings()], env, "single-go")
            procs.append(go)
            go.wait_ready()
            _probe(f"{go.url}/payments", n=50)
            variants["go_post"] = lambda: _probe(f"{go.url}/payments")
        results |= interleaved(variants, RUNS, "single")
        results["api_peak_rss_mb"] = api.peak_rss_mb()
    finally:
        for p in procs:
            p.stop()
    results["floors"] = guarded("single floors", lambda: floors(url, main))
    return results
