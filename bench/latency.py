"""Latency under load: an open-loop Go generator at a fixed rate (no coordinated omission)
against the API with the consumer running; POST-to-committed is each event's row
`processed_at - occurred_at` (the batch transaction's now(), so the commit's own WAL flush
is not in it)."""

import resource
import time
import uuid
from typing import Any

from bench.infra import new_topics, run_sql, truncate_consumer
from bench.procs import CPUS, Proc, json_subprocess, percentile
from bench.settings import BIN, LATENCY_RATE, LATENCY_S, PEERS_BIN, service_env


def bench_latency(url: str) -> dict[str, Any]:
    openloop = PEERS_BIN / "openloop"
    if not openloop.exists():
        raise RuntimeError("the open-loop generator is built from bench/peers (needs Go)")
    topic, dlq = new_topics("latency")
    truncate_consumer(url)
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq,
                      KAFKA_GROUP_ID=f"bench-lat-{uuid.uuid4().hex[:6]}")
    with Proc([str(BIN / "transaction-api")], env, "latency-api") as api, \
            Proc([str(BIN / "notification-consumer")], env, "latency-consumer") as consumer:
        api.wait_ready()
        consumer.wait_ready()
        load = [str(openloop), "-url", f"{api.url}/payments"]
        json_subprocess([*load, "-rate", "50", "-duration", "2s", "-prefix", "warm"], 60)
        time.sleep(1)
        truncate_consumer(url)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = json_subprocess([*load, "-rate", str(LATENCY_RATE), "-duration",
                                  f"{LATENCY_S}s", "-prefix", uuid.uuid4().hex[:6]],
                                 LATENCY_S + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if "accepted" not in client:
            raise RuntimeError(f"the generator failed: {client.get('error')}")
        deadline = time.monotonic() + 60
        rows: list[Any] = []
        while time.monotonic() < deadline:
            rows = run_sql(url, "SELECT EXTRACT(EPOCH FROM processed_at - occurred_at) AS s "
                                "FROM notification_consumer.processed_events WHERE topic = $1",
                           topic)
            if len(rows) >= client["accepted"]:
                break
            time.sleep(0.5)
        e2e = [float(r["s"]) for r in rows]
        rss = {"api": api.peak_rss_mb(), "consumer": consumer.peak_rss_mb()}
    generator_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {
        "rate": LATENCY_RATE, "seconds": LATENCY_S, "sent": client["sent"],
        "accepted": client["accepted"], "processed": len(e2e), "errors": client["errors"],
        "e2e_p50_ms": percentile(e2e, 50) * 1000, "e2e_p99_ms": percentile(e2e, 99) * 1000,
        "e2e_max_ms": max(e2e, default=float("nan")) * 1000,
        "post_p50_ms": client["post_p50_ms"], "post_p99_ms": client["post_p99_ms"],
        "generator_cpu_share": generator_cpu / (LATENCY_S * CPUS), "peak_rss_mb": rss,
    }
    if len(e2e) < client["accepted"]:
        result["error"] = f"only {len(e2e)} of {client['accepted']} accepted were processed"
    return result
