"""Helpers the integration, e2e and fault tests share: real servers, unique names, waits."""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition
from fastapi import FastAPI

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.kafka import stop_client
from service_kit.settings import DEFAULT_DATABASE_URL

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
ADMIN_DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
T = TypeVar("T")
# A Kafka record as the tests produce it: value, key, headers.
Record = tuple[bytes, bytes | None, list[tuple[str, bytes]]]
# Where a consumer under test looks for the API when a test gives it none: the discard port,
# refused at once (the default, 127.0.0.1:8000, may be someone else's server).
NO_API = "http://127.0.0.1:9"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def payment(payer: str | None = None, payee: str | None = None, amount: str = "12.50",
            currency: str = "EUR", **extra: Any) -> dict[str, Any]:
    return {"payer_id": payer or unique("payer"), "payee_id": payee or unique("payee"),
            "amount": amount, "currency": currency, **extra}


def event_record(**overrides: Any) -> Record:
    """A valid PaymentAccepted as the API would publish it (fresh id and accounts)."""
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(), "payer_id": unique("payer"), "payee_id": unique("payee"),
        "amount": Decimal("5.00"), "currency": "EUR", "occurred_at": datetime.now(UTC),
        **overrides,
    }
    record = encode(PaymentAccepted.model_validate(fields))
    return record.value, record.key, record.headers


async def wait_until(check: Callable[[], Awaitable[T | None]], timeout: float,
                     interval: float = 0.05, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        # One check may not outlive the wait (a client that never connects, a lock wait).
        async with asyncio.timeout(max(deadline - time.monotonic(), 0) + 30):
            result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan in this event loop and talk to it over ASGI. (A start or stop
    that hangs is caught by the test's own time limit, with the await it was stuck in.)"""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                     timeout=30) as client:
            yield client


@asynccontextmanager
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        yield p
    finally:
        await stop_client(p)


async def publish(topic: str, records: Iterable[Record], partition: int | None = None) -> None:
    """Produce `records` in order (to `partition` if given) and wait until all are acknowledged."""
    async with producer() as p:
        for value, key, headers in records:
            await p.send(topic, value=value, key=key, headers=headers, partition=partition)
        await p.flush()


async def end_offsets(topic: str) -> dict[int, int]:
    c = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP)  # no group: only metadata
    await c.start()
    try:
        parts = c.partitions_for_topic(topic) or set()
        ends = await c.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: int(o) for tp, o in ends.items()}
    finally:
        await stop_client(c)


async def read_until(topic: str, last: Callable[[ConsumerRecord[Any, Any]], bool],
                     timeout: float = 20) -> list[ConsumerRecord[Any, Any]]:
    """Read `topic` from the start (no group) up to the first record `last` accepts, or fail.

    The positive signal for absence: a sentinel produced after the record that must not
    appear, in the same partition, proves that record was not produced before it."""
    c = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recs in (await c.getmany(timeout_ms=200)).values():
                for record in recs:
                    records.append(record)
                    if last(record):
                        return records
        raise AssertionError(f"no sentinel in {topic} within {timeout}s ({len(records)} read)")
    finally:
        await stop_client(c)


def header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    return next((v.decode() for k, v in record.headers if k == name), None)


async def read_topic(topic: str, expected: int, timeout: float = 20) -> list[Any]:
    """Read `expected` records from the start of `topic` (no group), or fail."""
    c = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            batch = await c.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
        await asyncio.sleep(0)
        return records
    finally:
        await stop_client(c)


async def stats_when(consumer: httpx.AsyncClient, check: Callable[[Any], bool],
                     timeout: float = 30) -> Any:
    """The consumer's /stats once `check` accepts them."""
    async def probe() -> Any:
        response = await consumer.get("/stats")
        body = response.json()
        return body if response.status_code == 200 and check(body) else None

    return await wait_until(probe, timeout, interval=0.1, what="consumer stats")


async def served_event(client: httpx.AsyncClient, event_id: str, timeout: float,
                       base_url: str = "") -> dict[str, Any]:
    """GET /events/{event_id} (on `base_url`) until the consumer serves it: processed."""
    async def processed() -> dict[str, Any] | None:
        got = await client.get(f"{base_url}/events/{event_id}")
        return got.json() if got.status_code == 200 else None

    return await wait_until(processed, timeout, what=f"event {event_id} served")


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to a SQLAlchemy-style URL, closed afterwards."""
    conn = await asyncpg.connect(url.replace("+asyncpg", "", 1), timeout=10, command_timeout=60)
    try:
        yield conn
    finally:
        await conn.close()


async def db_value(url: str, sql: str, *args: Any) -> Any:
    """The first column of the first row: the one-shot query tests make to count rows."""
    async with connection(url) as conn:
        return await conn.fetchval(sql, *args)


async def db_execute(url: str, sql: str, *args: Any) -> str:
    async with connection(url) as conn:
        return str(await conn.execute(sql, *args))


async def db_rows(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with connection(url) as conn:
        return list(await conn.fetch(sql, *args))


async def wait_processed(url: str, topic: str, wanted: set[Any], what: str,
                         timeout: float = 60) -> None:
    """Until exactly `wanted` event ids of `topic` are processed."""
    async def processed() -> set[Any] | None:
        rows = await db_rows(url, "SELECT event_id FROM notification_consumer.processed_events "
                             "WHERE topic = $1", topic)
        got = {r["event_id"] for r in rows}
        return got if got == wanted else None

    await wait_until(processed, timeout, interval=0.2, what=what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_app(database_url: str, topic: str, **overrides: Any) -> FastAPI:
    from transaction_api.app import create_app
    from transaction_api.config import Settings

    return create_app(Settings(database_url=database_url, kafka_bootstrap_servers=BOOTSTRAP,
                               kafka_topic=topic, **overrides))


def consumer_app(database_url: str, topic: str, dlq: str, group: str | None = None,
                 **overrides: Any) -> FastAPI:
    from notification_consumer.app import create_app
    from notification_consumer.config import Settings

    return create_app(Settings(
        database_url=database_url, kafka_bootstrap_servers=BOOTSTRAP, kafka_topic=topic,
        kafka_dlq_topic=dlq, kafka_group_id=group or unique("group"), batch_wait_ms=50,
        **{"api_url": NO_API, **overrides}))
