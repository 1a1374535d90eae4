"""Cluster fault harness: node control through deploy/local/cluster.sh, partition leaders and
ISRs from the admin API, the stack as real processes, paced HTTP load, exact accounting."""

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics
from tests.databases import fresh_database
from tests.faults.harness import assert_exactly_once
from tests.processes import Service
from tests.support import BOOTSTRAP, db_value, end_offsets, payment, unique, wait_until

ROOT = Path(__file__).resolve().parents[2]
# Where cluster.sh keeps the nodes (deploy/local/env.sh: STATE_DIR, default .local).
CLUSTER_DIR = Path(os.environ.get("STATE_DIR") or ROOT / ".local") / "kafka-cluster"
NODES = (1, 2, 3)


def node(action: str, n: int | None = None) -> None:
    """cluster.sh start|stop|kill N, or up."""
    args = [str(ROOT / "deploy" / "local" / "cluster.sh"), action, *([str(n)] if n else [])]
    result = subprocess.run(args, timeout=240, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"cluster.sh {action} {n}: {result.stderr[-2000:]}"


async def node_async(action: str, n: int | None = None) -> None:
    await asyncio.to_thread(node, action, n)


def quorum_leader() -> int:
    """The KRaft controller leader, as the nodes recorded it (the newest epoch wins)."""
    best = (-1, -1)
    for n in NODES:
        path = CLUSTER_DIR / f"node{n}" / "data" / "__cluster_metadata-0" / "quorum-state"
        with suppress(OSError, ValueError):
            state = json.loads(path.read_text())
            best = max(best, (int(state["leaderEpoch"]), int(state["leaderId"])))
    assert best[1] in NODES, "no quorum leader recorded"
    return best[1]


async def describe(topic: str) -> list[dict[str, Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    await asyncio.wait_for(admin.start(), 15)
    try:
        topics = await asyncio.wait_for(admin.describe_topics([topic]), 15)
    finally:
        await admin.close()
    return list(topics[0]["partitions"])


async def wait_full_isr(topic: str, timeout: float = 120) -> None:
    """Until every partition of the topic and of the offsets topic has all three replicas
    in sync again (a node that just started is still catching up before that)."""
    async def full() -> bool:
        try:
            parts = await describe(topic) + await describe("__consumer_offsets")
        except Exception:  # noqa: BLE001 - the cluster may still be electing
            return False
        return bool(parts) and all(len(p["isr"]) == 3 for p in parts)

    await wait_until(full, timeout, interval=1, what=f"a full ISR on {topic}")


@dataclass
class Load:
    """POSTs `n` payments at about `rate` per second, at most `concurrency` in flight."""

    api: str
    n: int
    rate: float
    concurrency: int = 32
    statuses: list[int] = field(default_factory=list)
    event_ids: set[UUID] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        limits = asyncio.Semaphore(self.concurrency)
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.api, timeout=30) as client:
            async def post(i: int) -> None:
                async with limits:
                    response = await client.post("/payments", json=payment(
                        payer=f"acct_{i % 211}", payee=f"acct_{i % 211 + 1000}"))
                self.statuses.append(response.status_code)
                if response.status_code == 202:
                    self.event_ids.add(UUID(response.json()["event_id"]))

            tasks = []
            for i in range(self.n):
                ahead = i / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
                await limits.acquire()  # back-pressure: no unbounded pile of tasks
                limits.release()
                tasks.append(asyncio.create_task(post(i)))
            await asyncio.gather(*tasks)
        self.done.set()

    async def until_answered(self, count: int, timeout: float = 180) -> None:
        async def enough() -> bool:
            return len(self.statuses) >= count

        await wait_until(enough, timeout, interval=0.1, what=f"{count} answers")


@dataclass
class Stack:
    database_url: str
    topic: str
    dlq: str
    group: str
    api: Service
    consumer: Service


@asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    """A fresh database, a fresh topic pair (replication from the cluster: 3, min ISR 2),
    the API and the consumer as processes; everything torn down and all nodes up again."""
    topic = unique("cluster.transactions")
    dlq = f"{topic}.dlq"
    settings = KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP)
    await ensure_topics(settings, [topic, dlq], 6)
    async with fresh_database("paystream_cluster") as url:
        api = Service("transaction-api", {
            "DATABASE_URL": url, "KAFKA_TOPIC": topic, "LOG_LEVEL": "WARNING",
            "RELAY_BACKOFF_MAX_S": "2", "RELAY_INTERVAL_S": "0.5"}, name=unique("api"))
        group = unique("group")
        api.start()
        consumer = Service("notification-consumer", {
            "DATABASE_URL": url, "KAFKA_TOPIC": topic, "KAFKA_DLQ_TOPIC": dlq,
            "KAFKA_GROUP_ID": group, "API_URL": api.url, "BATCH_WAIT_MS": "50",
            "SESSION_TIMEOUT_MS": "10000", "HEARTBEAT_INTERVAL_MS": "1000",
            "BACKOFF_MAX_S": "2", "LOG_LEVEL": "WARNING", "RECONCILE_INTERVAL_S": "3",
            "RECONCILE_GRACE_S": "5"}, name=unique("consumer"))
        consumer.start()
        try:
            await api.ready(90)
            await consumer.ready(90)
            yield Stack(url, topic, dlq, group, api, consumer)
        finally:
            await api.crash()
            await consumer.crash()
            for n in NODES:
                await node_async("start", n)
            if not os.environ.get("KEEP_TEST_DATABASE"):  # kept together for a post-mortem
                with suppress(Exception):
                    await delete_topics(settings, [topic, dlq])


async def outbox_empty(url: str) -> bool:
    return int(await db_value(url, "SELECT count(*) FROM transaction_api.payment_requests "
                                   "WHERE published_at IS NULL")) == 0


async def balanced_books(s: Stack, load: Load, since: datetime) -> dict[str, Any]:
    """Everything the API accepted is published, processed once, its offsets stored and
    committed; every offset is accounted for; /reconcile agrees and names nothing."""
    assert load.statuses == [202] * load.n, sorted(set(load.statuses))
    assert len(load.event_ids) == load.n

    async def relayed() -> bool:
        return await outbox_empty(s.database_url)

    await wait_until(relayed, 180, interval=0.5, what="the relay to empty the outbox")
    counts = await assert_exactly_once(s.database_url, s.topic, s.group, load.event_ids, 0,
                                       kafka_commit_wait=60)
    records = sum((await end_offsets(s.topic)).values())
    # Each offset is an event processed once, a copy of one (the relay's or the producer's
    # retry after a lost acknowledgement), or a dead letter: nothing unaccounted for.
    assert records == counts["events"] + counts["duplicates"] + counts["dead_letters"], \
        (records, counts)
    async with httpx.AsyncClient(base_url=s.consumer.url, timeout=60) as client:
        response = await client.get("/reconcile", params={
            "since": since.isoformat(), "until": datetime.now(UTC).isoformat()})
    report = response.json()
    assert response.status_code == 200, report
    assert report["missing"] == 0 and report["duplicates"] == 0, report
    assert report["mismatched"] == 0 and report["in_flight"] == 0, report
    assert report["accepted"] == report["processed"] == load.n, report
    return {**counts, "records": records, "reconcile": report}


def log_mentions(service: Service, *needles: str) -> dict[str, int]:
    text = service.log_text()
    return {needle: text.count(needle) for needle in needles}
