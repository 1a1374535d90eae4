"""The floor under a single POST, measured part by part in the same run: one durable
PostgreSQL insert of the API's row (autocommit: the commit's WAL flush included) and one
aiokafka publish with acks=all from an idempotent producer, each one at a time."""

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.infra import libpq
from bench.procs import percentile
from bench.settings import BOOTSTRAP, SINGLE_N
from service_kit.kafka import stop_client

_INSERT = """
    INSERT INTO transaction_api.payment_requests (event_id, scope, idempotency_key,
        request_hash, payer_id, payee_id, amount, currency, description, event_key,
        event_value, event_headers, created_at)
    VALUES ($1, 'public', NULL, $2, 'floor_a', 'floor_b', 1.25, 'EUR', NULL, $3, $4, '[]', $5)
    ON CONFLICT (scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event_id"""


def _summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "n": len(ms)}


async def _insert(url: str) -> dict[str, float]:
    conn = await asyncpg.connect(libpq(url))
    try:
        times = []
        for i in range(SINGLE_N + 20):
            started = time.perf_counter()
            await conn.fetchval(_INSERT, uuid.uuid4(), "0" * 64, b"floor_a", b"{}" * 100,
                                datetime.now(UTC))
            if i >= 20:  # the first ones warm the statement cache
                times.append((time.perf_counter() - started) * 1000)
        return _summary(times)
    finally:
        await conn.close()


async def _publish(topic: str) -> dict[str, float]:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True)
    await producer.start()
    try:
        times = []
        for i in range(SINGLE_N + 20):
            started = time.perf_counter()
            await producer.send_and_wait(topic, b"{}" * 100, key=b"floor_a")
            if i >= 20:
                times.append((time.perf_counter() - started) * 1000)
        return _summary(times)
    finally:
        await stop_client(producer)


def floors(url: str, topic: str) -> dict[str, Any]:
    return {"pg_insert": asyncio.run(_insert(url)), "kafka_publish": asyncio.run(_publish(topic))}
