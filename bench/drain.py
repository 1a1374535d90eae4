"""Drain: a backlog of events exactly as the API publishes them (key, value and every header:
the CloudEvents attributes and a traceparent) on 6 partitions, then until every offset is
stored. Our consumer (one, two and three processes in one group), the tuned Go peer writing
the same tables with the same statements, and the ceilings (raw aiokafka, raw COPY),
interleaved round by round on the same topic; each run also charges PostgreSQL's and the
Kafka broker's CPU and the WAL written to its events (outside.py). One more profiled run of
ours outside the medians."""

import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.drain_watch import watch_drain
from bench.infra import end_offsets, libpq, new_topics, truncate_consumer
from bench.outside import charged
from bench.procs import Proc, Result, guarded, interleaved, json_subprocess, log
from bench.profile import Profiler
from bench.settings import BIN, BOOTSTRAP, DRAIN_EVENTS, PEERS_BIN, RUNS, service_env
from notification_consumer.config import Settings as ConsumerSettings
from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.kafka import stop_client
from service_kit.tracing import new_trace


def consumer_defaults() -> tuple[int, int]:
    """The consumer's batch size and wait, so the Go peer batches the same way."""
    fields = ConsumerSettings.model_fields
    return (int(fields["batch_max_records"].default), int(fields["batch_wait_ms"].default))


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
                description="bench", occurred_at=now), new_trace().traceparent)
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
    """`processes` consumers in one group, on tables emptied before they start."""
    truncate_consumer(url)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq,
                      KAFKA_GROUP_ID=group, **settings)
    procs = [Proc([str(BIN / "notification-consumer")], env, f"drain-{processes}x-{group}-{i}")
             for i in range(processes)]
    try:
        spy = None
        if profile:  # from readiness on, so start-up (imports) is not in the profile
            procs[0].wait_ready()
            spy = Profiler(procs[0].proc.pid, 12, "drain-consumer")
        result = watch_drain(url, group, topic, ends, procs)
    finally:
        for p in procs:
            p.stop()
    if spy is not None:
        result["profile"] = spy.summary()
    return result | {"processes": processes}


def drain_go(url: str, topic: str, ends: dict[int, int]) -> Result:
    """The tuned Go peer into our tables, batching like the consumer's defaults."""
    truncate_consumer(url)
    group = f"bench-go-{uuid.uuid4().hex[:8]}"
    batch, wait_ms = consumer_defaults()
    peer = Proc([str(PEERS_BIN / "tuned-drain"), "-brokers", BOOTSTRAP, "-topic", topic,
                 "-group", group, "-database-url", libpq(url), "-expect", str(DRAIN_EVENTS),
                 "-timeout", "300s", "-batch", str(batch), "-linger", f"{wait_ms}ms"],
                service_env(), f"drain-go-{group}")
    try:
        return watch_drain(url, group, topic, ends, [peer])
    finally:
        peer.stop()


def bench_drain(url: str) -> dict[str, Any]:
    topic, dlq = new_topics("drain")
    prefill_s = asyncio.run(prefill(topic, DRAIN_EVENTS))
    ends = end_offsets(topic)
    if sum(ends.values()) != DRAIN_EVENTS:
        raise RuntimeError(f"prefill left {sum(ends.values())} records, not {DRAIN_EVENTS}")
    variants: dict[str, Callable[[], Result]] = {
        "ours": lambda: drain_ours(url, topic, dlq, ends, 1),
        "ours_2x": lambda: drain_ours(url, topic, dlq, ends, 2),
        "ours_3x": lambda: drain_ours(url, topic, dlq, ends, 3),
        "raw_consume": lambda: json_subprocess(
            [sys.executable, "-m", "bench.ceilings", "consume", topic, str(DRAIN_EVENTS)], 600),
        "raw_copy": lambda: json_subprocess(
            [sys.executable, "-m", "bench.ceilings", "copy", url, str(DRAIN_EVENTS)], 600),
    }
    results: dict[str, Any] = {"prefill_seconds": prefill_s}
    if (PEERS_BIN / "tuned-drain").exists():
        variants["go_tuned"] = lambda: drain_go(url, topic, ends)
    else:
        results["go_tuned"] = [{"error": "not built (needs Go: bench/peers)"}]
    results |= interleaved({name: charged(fn, url, "event", lambda _: float(DRAIN_EVENTS))
                            for name, fn in variants.items()}, RUNS, "drain")
    log("drain: one more run of ours, profiled (outside the medians)")
    results["ours_profiled"] = [guarded("drain profiled", lambda: drain_ours(
        url, topic, dlq, ends, 1, profile=True))]
    truncate_consumer(url)
    return results
