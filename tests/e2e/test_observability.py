"""What an operator sees: every documented metric family is exported by its service and
moves when events flow; lag rises while the consumer is stopped and drains to 0 after."""

import asyncio
import re
import subprocess
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import Service
from tests.support import BOOTSTRAP, payment, producer, unique, wait_until

ROOT = Path(__file__).resolve().parents[2]
API_FAMILIES = {
    "http_requests", "http_request_duration_seconds", "payment_publish_duration_seconds",
    "payment_publish_failures", "payments_accepted", "outbox_backlog_events",
    "outbox_oldest_unpublished_age_seconds", "relay_published", "relay_publish_failures",
}
CONSUMER_FAMILIES = {
    "consumer_events_processed", "consumer_duplicates", "consumer_dead_letters",
    "consumer_batch_size_records", "consumer_batch_processing_seconds",
    "consumer_end_to_end_latency_seconds", "consumer_rebalances",
    "consumer_transient_failures", "consumer_lag_messages", "consumer_lag_seconds",
    "consumer_seconds_since_last_commit", "http_requests",
}


async def scrape(url: str) -> dict[str, float]:
    """Sample name with labels -> value, e.g. 'consumer_dead_letters_total{reason=not_json}'."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        samples[f"family:{family.name}"] = 1
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def total(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


async def test_documented_metrics_are_exported_and_move(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": unique("group"), "LAG_SAMPLE_INTERVAL_S": "0.3",
           "LOG_LEVEL": "WARNING"}
    api = Service("transaction-api", env).start()
    consumer = Service("notification-consumer", env).start()
    try:
        await api.ready()
        await consumer.ready()
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            for i in range(10):
                r = await client.post("/payments", json=payment(),
                                      headers={"Idempotency-Key": f"{main}-{i}"})
                assert r.status_code == 202
        async with producer() as p:
            await p.send_and_wait(main, value=b"not json", key=b"k")
            raw = await p.send_and_wait(main, value=b"also not json", key=b"k2")
            assert raw.offset >= 0

        async def settled() -> dict[str, float] | None:
            m = await scrape(consumer.url)
            done = total(m, "consumer_events_processed_total") >= 10 and \
                total(m, "consumer_dead_letters_total") >= 2 and \
                "consumer_lag_messages{partition=0}" in m and \
                total(m, "consumer_lag_messages") == 0  # the gauge catches up by sampling
            return m if done else None

        seen = await wait_until(settled, 30, interval=0.2, what="consumer metrics")
        api_seen = await scrape(api.url)
    finally:
        await api.crash()
        await consumer.crash()
    assert {f"family:{f}" for f in API_FAMILIES} <= set(api_seen)
    assert {f"family:{f}" for f in CONSUMER_FAMILIES} <= set(seen)
    assert api_seen["http_requests_total{method=POST,route=/payments,status=202}"] == 10
    assert total(api_seen, "payments_accepted_total") == 10
    assert api_seen["payment_publish_duration_seconds_count"] == 10
    assert seen["consumer_dead_letters_total{reason=not_json}"] == 2
    assert seen["consumer_end_to_end_latency_seconds_count"] >= 10
    assert seen["consumer_batch_size_records_count"] >= 1
    assert seen["consumer_rebalances_total"] >= 1


def kafka_group_lag(group: str) -> int:
    """Lag as Kafka's own consumer-groups tool reports it (sum of the LAG column)."""
    out = subprocess.run(
        [str(ROOT / "deploy/local/kafka-consumer-groups.sh"), "--bootstrap-server",
         BOOTSTRAP, "--describe", "--group", group],
        capture_output=True, text=True, timeout=60, check=True).stdout
    lag = 0
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0] == group and re.fullmatch(r"\d+", cols[5]):
            lag += int(cols[5])
    return lag


async def test_lag_rises_while_the_consumer_is_stopped_and_drains_after(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": group, "LAG_SAMPLE_INTERVAL_S": "0.3", "LOG_LEVEL": "WARNING"}
    consumer = Service("notification-consumer", env).start()
    try:
        await consumer.ready()
        async with httpx.AsyncClient(base_url=consumer.url, timeout=10) as client:
            async with producer() as p:
                await p.send_and_wait(main, value=b"first", key=b"k-first", partition=0)

            async def drained_stats() -> dict[str, object] | None:
                s = (await client.get("/stats")).json()
                return s if s.get("total_lag") == 0 and s.get("dead_letters") == 1 else None

            await wait_until(drained_stats, 30, what="first record processed")
        assert await consumer.terminate() in (0, -15)
        async with producer() as p:
            for i in range(200):
                # A key each: a poison parks its own key (PARK_KEYS).
                await p.send(main, value=f"poison {i}".encode(), key=f"k{i}".encode(),
                             partition=0)
            await p.flush()
        assert await asyncio.to_thread(kafka_group_lag, group) == 200
        await consumer.start().ready()
        async with httpx.AsyncClient(base_url=consumer.url, timeout=10) as client:
            async def drained() -> dict[str, object] | None:
                s = (await client.get("/stats")).json()
                return s if s.get("total_lag") == 0 and s.get("dead_letters") == 201 else None

            stats = await wait_until(drained, 30, what="lag drained")
            assert stats["status"] == "OK"
            await wait_until(lambda: _zero_lag_metric(consumer.url), 10, what="lag gauge 0")
        assert await asyncio.to_thread(kafka_group_lag, group) == 0
    finally:
        await consumer.crash()


async def _zero_lag_metric(url: str) -> bool:
    m = await scrape(url)
    return "consumer_lag_messages{partition=0}" in m and total(m, "consumer_lag_messages") == 0
