"""Latency under load: an open-loop Go generator at a fixed rate (no coordinated omission)
against the API with the consumer running, BENCH_RUNS times in a row on the same processes.

POST-to-committed runs from the event's `occurred_at` (set by the API as it accepts the
payment) to the commit of the consumer's batch transaction, as the consumer's own commit log
tells it: the INFO line "batch processed", written right after the commit returns, carries
its time (milliseconds) and the offsets it wrote per partition. Each run's rows are told apart
by their payer ids; the tables are emptied before the services start, never while they run."""

import bisect
import resource
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.infra import new_topics, run_sql, truncate_consumer
from bench.procs import CPUS, Proc, json_subprocess, log, percentile
from bench.settings import BIN, LATENCY_RATE, LATENCY_S, PEERS_BIN, RESULTS, RUNS, service_env

Commits = dict[int, list[tuple[int, int, datetime]]]  # partition -> (first, last, committed)


def commit_log(path: Path) -> Commits:
    commits: Commits = {}
    for line in path.read_bytes().splitlines():
        if b'"batch processed"' not in line:
            continue
        entry = orjson.loads(line)
        at = datetime.fromisoformat(entry["ts"])
        for partition, (first, last) in entry.get("offsets", {}).items():
            commits.setdefault(int(partition), []).append((first, last, at))
    for spans in commits.values():
        spans.sort()
    return commits


def committed_at(commits: Commits, partition: int, offset: int) -> datetime | None:
    spans = commits.get(partition, [])
    i = bisect.bisect_right(spans, (offset, float("inf"))) - 1
    if i >= 0 and spans[i][0] <= offset <= spans[i][1]:
        return spans[i][2]
    return None


def _run(url: str, topic: str, api: Proc, consumer: Proc, log_path: Path) -> dict[str, Any]:
    prefix = uuid.uuid4().hex[:8]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = json_subprocess([str(PEERS_BIN / "openloop"), "-url", f"{api.url}/payments",
                              "-rate", str(LATENCY_RATE), "-duration", f"{LATENCY_S}s",
                              "-prefix", prefix], LATENCY_S + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if "accepted" not in client:
        raise RuntimeError(f"the generator failed: {client.get('error')}")
    query = ("SELECT partition, \"offset\", occurred_at, processed_at FROM notification_consumer."
             "processed_events WHERE topic = $1 AND payer_id LIKE $2")
    deadline, rows = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        rows = run_sql(url, query, topic, f"{prefix}\\_%")
        if len(rows) >= client["accepted"]:
            break
        time.sleep(0.5)
    time.sleep(0.5)  # the commit log line follows the commit
    commits = commit_log(log_path)
    e2e, waited, written = [], [], []
    for r in rows:
        at = committed_at(commits, r["partition"], r["offset"])
        if at is not None:
            e2e.append((at - r["occurred_at"]).total_seconds() * 1000)
            # processed_at is now() of the batch's transaction: when it began
            waited.append((r["processed_at"] - r["occurred_at"]).total_seconds() * 1000)
            written.append((at - r["processed_at"]).total_seconds() * 1000)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {
        "sent": client["sent"], "accepted": client["accepted"], "processed": len(rows),
        "timed": len(e2e), "errors": client["errors"], "e2e_p50_ms": percentile(e2e, 50),
        "e2e_p99_ms": percentile(e2e, 99), "e2e_max_ms": max(e2e, default=float("nan")),
        "to_batch_p50_ms": percentile(waited, 50), "batch_p50_ms": percentile(written, 50),
        "post_p50_ms": client["post_p50_ms"], "post_p99_ms": client["post_p99_ms"],
        "generator_cpu_share": cpu / (LATENCY_S * CPUS)}
    if len(e2e) < client["accepted"]:
        result["error"] = (f"{len(rows)} of {client['accepted']} accepted were processed, "
                           f"{len(e2e)} found in the commit log")
    return result


def bench_latency(url: str) -> dict[str, Any]:
    if not (PEERS_BIN / "openloop").exists():
        raise RuntimeError("the open-loop generator is built from bench/peers (needs Go)")
    topic, dlq = new_topics("latency")
    truncate_consumer(url)
    tag = uuid.uuid4().hex[:6]
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq,
                      KAFKA_GROUP_ID=f"bench-lat-{tag}")
    runs: list[dict[str, Any]] = []
    with Proc([str(BIN / "transaction-api")], env, f"latency-api-{tag}") as api, \
            Proc([str(BIN / "notification-consumer")], env, f"latency-consumer-{tag}") as consumer:
        api.wait_ready()
        consumer.wait_ready()
        warm = [str(PEERS_BIN / "openloop"), "-url", f"{api.url}/payments", "-rate", "50",
                "-duration", "2s", "-prefix", "warm"]
        json_subprocess(warm, 60)
        time.sleep(1)
        for i in range(RUNS):
            try:
                r = _run(url, topic, api, consumer, RESULTS / f"{consumer.name}.log")
            except Exception as exc:  # noqa: BLE001 - recorded, the next run goes on
                r = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            log(f"latency run {i + 1}: e2e p50 {r.get('e2e_p50_ms', float('nan')):.1f} ms, "
                f"p99 {r.get('e2e_p99_ms', float('nan')):.1f} ms {r.get('error', '')}")
            runs.append(r)
        rss = {"api": api.peak_rss_mb(), "consumer": consumer.peak_rss_mb()}
    return {"rate": LATENCY_RATE, "seconds": LATENCY_S, "runs": runs, "peak_rss_mb": rss}
