"""Fault-test harness: a background flow of events, consumer processes, exact accounting."""

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.kafka import stop_client
from tests.processes import Service
from tests.support import BOOTSTRAP, connection, db_rows, db_value, end_offsets, producer, unique

ROOT = Path(__file__).resolve().parents[2]
POISON = [b"{not json", b'{"event_id": 1}', b"", b'{"schema_version": 1, "amount": "-5"}']


def make_events(n: int) -> list[tuple[UUID, bytes, bytes | None, list[tuple[str, bytes]]]]:
    out = []
    for i in range(n):
        event = PaymentAccepted(event_id=uuid4(), payer_id=f"acct_{i % 97}",
                                payee_id=f"acct_{(i % 97) + 100}", amount=Decimal("1.25"),
                                currency="EUR", occurred_at=datetime.now(UTC))
        record = encode(event)
        out.append((event.event_id, record.value, record.key, record.headers))
    return out


class Flow:
    """Produces events (and, if asked, poison) at a steady rate until all are acknowledged.

    A send that fails (broker restarting) is sent again: a duplicate at worst, which is what
    a real producer's retry does and what the consumer must absorb.
    """

    def __init__(self, topic: str, n: int, rate: float, poison_every: int = 0,
                 twice: bool = False) -> None:
        self.topic = topic
        self.events = make_events(n)
        self.rate = rate
        self.poison_every = poison_every
        self.twice = twice
        self.poison_sent: list[bytes] = []
        self.sent = 0
        self.done = asyncio.Event()

    @property
    def event_ids(self) -> set[UUID]:
        return {e[0] for e in self.events}

    def plan(self) -> list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]]:
        records: list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]] = []
        for i, (_, value, key, headers) in enumerate(self.events):
            records.append((value, key, headers))
            if self.twice:
                records.append((value, key, headers))
            if self.poison_every and (i + 1) % self.poison_every == 0:
                bad = POISON[len(self.poison_sent) % len(POISON)]
                self.poison_sent.append(bad)
                # A key of its own: each poison parks only itself (PARK_KEYS).
                records.append((bad, f"poison-{len(self.poison_sent)}".encode(), []))
        return records

    async def run(self, deadline_s: float = 120) -> None:
        records = self.plan()
        started = time.monotonic()
        async with producer() as p:
            for i, (value, key, headers) in enumerate(records):
                while True:
                    try:
                        await asyncio.wait_for(
                            p.send_and_wait(self.topic, value=value, key=key, headers=headers)
                            if i % 50 == 49 else _queued(p, self.topic, value, key, headers), 30)
                        break
                    except (KafkaError, TimeoutError):
                        if time.monotonic() - started > deadline_s:
                            raise
                        await asyncio.sleep(0.5)
                self.sent = i + 1
                ahead = self.sent / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await p.flush()
        self.done.set()


async def _queued(p: Any, topic: str, value: bytes, key: bytes | None,
                  headers: list[tuple[str, bytes]]) -> None:
    await p.send(topic, value=value, key=key, headers=headers)


def consumer_service(database_url: str, topic: str, dlq: str, group: str, *,
                     argv: list[str] | None = None, **env: str) -> Service:
    return Service("notification-consumer", {
        "DATABASE_URL": database_url, "KAFKA_TOPIC": topic, "KAFKA_DLQ_TOPIC": dlq,
        "KAFKA_GROUP_ID": group, "BATCH_WAIT_MS": "50", "SESSION_TIMEOUT_MS": "6000",
        "HEARTBEAT_INTERVAL_MS": "1000", "BACKOFF_MAX_S": "2", "LOG_LEVEL": "WARNING", **env,
    }, name=unique("consumer"), argv=argv)


async def processed_count(url: str, topic: str) -> int:
    """Rows processed from `topic`, or -1 while PostgreSQL is unreachable."""
    try:
        return int(await db_value(
            url, "SELECT count(*) FROM notification_consumer.processed_events WHERE topic = $1",
            topic))
    except (OSError, asyncpg.PostgresError):
        return -1


async def wait_processed(url: str, topic: str, at_least: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await processed_count(url, topic) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} events processed in {timeout}s")
        await asyncio.sleep(0.1)


async def stored_offsets(url: str, topic: str, group: str) -> dict[int, int]:
    rows = await db_rows(
        url, "SELECT partition, next_offset FROM notification_consumer.consumer_offsets "
        "WHERE group_id = $1 AND topic = $2", group, topic)
    return {r["partition"]: r["next_offset"] for r in rows}


async def wait_drained(url: str, topic: str, group: str, timeout: float = 90) -> dict[int, int]:
    """Until the offsets stored with the effects reach the log end on every partition."""
    deadline = time.monotonic() + timeout
    while True:
        ends = {p: e for p, e in (await end_offsets(topic)).items() if e > 0}
        try:
            stored = await stored_offsets(url, topic, group)
        except (OSError, asyncpg.PostgresError):
            stored = {}
        if ends and stored == ends:
            return ends
        if time.monotonic() > deadline:
            raise AssertionError(f"not drained in {timeout}s: stored {stored} vs end {ends}")
        await asyncio.sleep(0.25)


async def kafka_committed(topic: str, group: str, partitions: list[int]) -> dict[int, int]:
    c = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        return {p: int(await c.committed(TopicPartition(topic, p)) or -1) for p in partitions}
    finally:
        await stop_client(c)


async def assert_exactly_once(url: str, topic: str, group: str, event_ids: set[UUID],
                              poison: int, kafka_commit_wait: float = 30) -> dict[str, int]:
    """The counts that prove the promise: every valid event once, every poison once,
    nothing skipped (stored offsets = log end), Kafka's copy of the offsets caught up."""
    ends = await wait_drained(url, topic, group)
    async with connection(url) as conn:
        ids = await conn.fetch(
            "SELECT event_id FROM notification_consumer.processed_events WHERE topic = $1", topic)
        notes = await conn.fetchval(
            "SELECT count(*) FROM notification_consumer.notifications n JOIN "
            "notification_consumer.processed_events e USING (event_id) WHERE e.topic = $1", topic)
        dead = await conn.fetchval(
            "SELECT count(*) FROM notification_consumer.dead_letters "
            "WHERE topic = $1 AND group_id = $2", topic, group)
        counters = await conn.fetchrow(
            "SELECT processed, duplicates, dead_letters FROM notification_consumer."
            "consumer_counters WHERE group_id = $1", group)
    got = [r["event_id"] for r in ids]
    assert len(got) == len(set(got)) == len(event_ids), (len(got), len(event_ids))
    assert set(got) == event_ids
    assert notes == 2 * len(event_ids)
    assert dead == poison
    assert counters["processed"] == len(event_ids) and counters["dead_letters"] == poison
    deadline = time.monotonic() + kafka_commit_wait
    while True:
        committed = await kafka_committed(topic, group, sorted(ends))
        if committed == ends or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert committed == ends, (committed, ends)
    return {"events": len(got), "notifications": int(notes), "dead_letters": int(dead),
            "duplicates": int(counters["duplicates"])}


async def infra(script: str, action: str) -> None:
    """Run a deploy/local script in a thread: the test's producer and consumers keep running
    on the event loop while a server goes down or comes back."""
    await asyncio.to_thread(
        subprocess.run, [str(ROOT / "deploy" / "local" / script), action], check=True,
        timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class Running:
    group: str
    flow: Flow
    consumer: Service
    producing: "asyncio.Task[None]"


@asynccontextmanager
async def consumer_running(database_url: str, topics: tuple[str, str], group: str, *,
                           argv: list[str] | None = None, **env: str) -> AsyncIterator[Service]:
    """One consumer process on `group`, SIGKILLed afterwards whatever happened."""
    consumer = consumer_service(database_url, *topics, group, argv=argv, **env).start()
    try:
        yield consumer
    finally:
        await consumer.crash()


@asynccontextmanager
async def flowing(database_url: str, topics: tuple[str, str], flow: Flow,
                  **env: str) -> AsyncIterator[Running]:
    """A flow producing in the background and one consumer process (with `env`) on a fresh
    group; both are stopped afterwards whatever happened (SIGKILL for the consumer)."""
    group = unique("group")
    producing = asyncio.create_task(flow.run())
    try:
        async with consumer_running(database_url, topics, group, argv=None, **env) as consumer:
            yield Running(group, flow, consumer, producing)
    finally:
        producing.cancel()
