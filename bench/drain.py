"""Drain: a backlog of valid events on 6 partitions, then until every offset is stored. Our
consumer (one and two processes), the ceilings (raw aiokafka, raw COPY) and the Go peers
(tuned, and the article's reader as written), all on the same topic in the same run."""

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.infra import (
    committed_everything,
    end_offsets,
    libpq,
    new_topics,
    run_sql,
    truncate_consumer,
)
from bench.procs import Proc, Result, json_subprocess, runs_of
from bench.profile import Profiler
from bench.settings import BIN, BOOTSTRAP, DRAIN_EVENTS, PEERS_BIN, RUNS, service_env
from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.kafka import stop_client

# The write path the bench's measurements chose (bench/write_paths.py); the Go peer gets it.
GO_METHOD = "copy"


async def prefill(topic: str, n: int) -> float:
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20,
                                max_batch_size=256 * 1024, enable_idempotence=True)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for i in range(n):
            record = encode(PaymentAccepted(
                event_id=uuid.uuid4(), payer_id=f"acct_{i % 997}",
                payee_id=f"acct_{i % 997 + 1000}", amount=Decimal("1.25"), currency="EUR",
                description="bench", occurred_at=now))
            pending.append(await producer.send(topic, value=record.value, key=record.key,
                                               headers=record.headers))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await stop_client(producer)
    return time.perf_counter() - started


def drain_ours(url: str, topic: str, dlq: str, ends: dict[int, int], processes: int,
               profile: bool = False, **settings: str) -> Result:
    """`processes` consumers in one group; timed like the Go peer: first batch to last commit."""
    truncate_consumer(url)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq,
                      KAFKA_GROUP_ID=group, **settings)
    started = time.monotonic()
    procs = [Proc([str(BIN / "notification-consumer")], env, f"drain-{processes}x-{group}-{i}")
             for i in range(processes)]
    spy = None
    if profile:  # from readiness on, so start-up (imports) is not in the profile
        procs[0].wait_ready()
        spy = Profiler(procs[0].proc.pid, 12, "drain-consumer")
    try:
        deadline = started + 600
        while not committed_everything(url, topic, group, ends):
            if time.monotonic() > deadline or any(p.proc.poll() is not None for p in procs):
                raise RuntimeError("the consumer did not drain the topic")
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        rss = [p.peak_rss_mb() for p in procs]
        cpu = [p.cpu_seconds() for p in procs]
    finally:
        for p in procs:
            p.stop()
    [span] = run_sql(url, """
        SELECT EXTRACT(EPOCH FROM (SELECT max(updated_at) FROM
               notification_consumer.consumer_offsets WHERE group_id = $1)
               - (SELECT min(processed_at) FROM notification_consumer.processed_events)) AS s,
               (SELECT count(*) FROM notification_consumer.processed_events) AS n
    """, group)
    if span["n"] != DRAIN_EVENTS:
        raise RuntimeError(f"{span['n']} rows for {DRAIN_EVENTS} events")
    active = float(span["s"])
    result: Result = {"seconds": active, "rate": DRAIN_EVENTS / active, "wall_seconds": elapsed,
                      "wall_rate": DRAIN_EVENTS / elapsed, "peak_rss_mb": max(rss),
                      "cpu_seconds": sum(cpu), "processes": processes}
    if spy is not None:
        result["profile"] = spy.summary()
    return result


def go_tuned(url: str, topic: str) -> Result:
    r = json_subprocess([str(PEERS_BIN / "tuned-drain"), "-brokers", BOOTSTRAP, "-topic", topic,
                         "-group", f"bench-go-{uuid.uuid4().hex[:8]}", "-database-url",
                         libpq(url), "-expect", str(DRAIN_EVENTS), "-timeout", "300s",
                         "-method", GO_METHOD], 420)
    run_sql(url, "DROP SCHEMA IF EXISTS go_peer CASCADE")
    return r


def go_article(topic: str) -> Result:
    r = json_subprocess(
        [str(PEERS_BIN / "article-consumer"), "-brokers", BOOTSTRAP, "-topic", topic,
         "-group", f"bench-article-{uuid.uuid4().hex[:8]}", "-expect", str(DRAIN_EVENTS),
         "-timeout", "20s", "-join-timeout", "60s"], 120)
    # It exits 1 when its 20 s end before the backlog does: its expected end, not a failure.
    if r.get("messages") and str(r.get("error", "")).startswith("exit 1"):
        r.pop("error")
    return r


def bench_drain(url: str) -> dict[str, Any]:
    topic, dlq = new_topics("drain")
    prefill_s = asyncio.run(prefill(topic, DRAIN_EVENTS))
    ends = end_offsets(topic)
    if sum(ends.values()) != DRAIN_EVENTS:
        raise RuntimeError(f"prefill left {sum(ends.values())} records, not {DRAIN_EVENTS}")
    results: dict[str, Any] = {"prefill_seconds": prefill_s}
    results["ours"] = runs_of("drain ours", lambda: drain_ours(url, topic, dlq, ends, 1), RUNS)
    results["ours_profiled"] = runs_of("drain ours, profiled (not in the medians)", lambda:
                                       drain_ours(url, topic, dlq, ends, 1, profile=True), 1)
    results["ours_2x"] = runs_of("drain ours, 2 processes",
                                 lambda: drain_ours(url, topic, dlq, ends, 2), RUNS)
    # max_records: one run at 2,000 per batch against the default 500
    results["ours_batch_2000"] = runs_of("drain ours, BATCH_MAX_RECORDS=2000", lambda: drain_ours(
        url, topic, dlq, ends, 1, BATCH_MAX_RECORDS="2000"), 1)
    results["raw_consume"] = runs_of("raw aiokafka", lambda: json_subprocess(
        [sys.executable, "-m", "bench.ceilings", "consume", topic, str(DRAIN_EVENTS)], 600),
        RUNS)
    results["raw_copy"] = runs_of("raw COPY", lambda: json_subprocess(
        [sys.executable, "-m", "bench.ceilings", "copy", url, str(DRAIN_EVENTS)], 600), RUNS)
    truncate_consumer(url)
    if (PEERS_BIN / "tuned-drain").exists():
        results["go_tuned"] = runs_of("go tuned drain", lambda: go_tuned(url, topic), RUNS)
    else:
        results["go_tuned"] = [{"error": "not built (needs Go: bench/peers)"}]
    if (PEERS_BIN / "article-consumer").exists():  # 20 s of reading from its first message
        results["go_article_consume"] = runs_of("go article consumer",
                                                lambda: go_article(topic), 1)
    producer = PEERS_BIN / "article-producer"
    if producer.exists():
        scratch, _ = new_topics("article")
        results["go_article_produce"] = runs_of("go article producer", lambda: json_subprocess(
            [str(producer), "-brokers", BOOTSTRAP, "-topic", scratch, "-duration", "10s"], 120),
            1)
    return results
