"""One request at a time, no load: the latency of a single POST /payments (and of GET
/healthz on the same server, the HTTP floor), like a user's curl. The Go open-loop client
sends at a rate far below what the server takes, so requests do not overlap."""

from typing import Any

from bench.floors import floors
from bench.infra import new_topics
from bench.procs import Proc, Result, guarded, json_subprocess
from bench.settings import BIN, PEERS_BIN, SINGLE_N, service_env

RATE = 25  # per second: one request every 40 ms, each taking a few ms


def _probe(url: str, method: str) -> Result:
    seconds = max(1, SINGLE_N // RATE)
    r = json_subprocess([str(PEERS_BIN / "openloop"), "-url", url, "-method", method,
                         "-rate", str(RATE), "-duration", f"{seconds}s", "-prefix", "single"],
                        seconds + 60)
    return r


def bench_single(url: str) -> dict[str, Any]:
    if not (PEERS_BIN / "openloop").exists():
        raise RuntimeError("the open-loop client is built from bench/peers (needs Go)")
    main, _ = new_topics("single")
    results: dict[str, Any] = {}
    with Proc([str(BIN / "transaction-api")], service_env(DATABASE_URL=url, KAFKA_TOPIC=main),
              "single-api") as api:
        api.wait_ready()
        _probe(f"{api.url}/payments", "POST")  # warm-up: connections, statements, metadata
        results["post"] = guarded("single POST", lambda: _probe(f"{api.url}/payments", "POST"))
        results["healthz"] = guarded("single healthz",
                                     lambda: _probe(f"{api.url}/healthz", "GET"))
        results["api_peak_rss_mb"] = api.peak_rss_mb()
    results["floors"] = guarded("single floors", lambda: floors(url, main))
    return results
