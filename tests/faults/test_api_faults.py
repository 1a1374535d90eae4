"""The transaction API on a bad day: Kafka down (202 and the relay catches up, nothing lost
or doubled), PostgreSQL down (a fast 503 and no partial record)."""

import asyncio
import time
from uuid import UUID

import httpx
import pytest

from tests.faults.harness import assert_exactly_once, consumer_service, infra
from tests.processes import Service
from tests.support import db_value, payment, unique, wait_until

pytestmark = pytest.mark.faults


def api_service(database_url: str, topic: str) -> Service:
    return Service("transaction-api", {"DATABASE_URL": database_url, "KAFKA_TOPIC": topic,
                                       "LOG_LEVEL": "WARNING", "RELAY_BACKOFF_MAX_S": "2"})


async def test_kafka_down_while_1000_payments_are_accepted(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    group = unique("group")
    api = api_service(database_url, main).start()
    consumer = consumer_service(database_url, main, dlq, group).start()
    try:
        await api.ready()
        await consumer.ready()
        await infra("kafka.sh", "down")
        limits = asyncio.Semaphore(32)
        bodies = [payment() for _ in range(1000)]
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            async def post(i: int) -> httpx.Response:
                async with limits:
                    return await client.post("/payments", json=bodies[i],
                                             headers={"Idempotency-Key": f"{main}-{i}"})

            responses = await asyncio.gather(*(post(i) for i in range(1000)))
            # Retrying with the same keys while Kafka is still down gives the same ids.
            again = await asyncio.gather(*(post(i) for i in range(0, 1000, 100)))
        assert [r.status_code for r in responses] == [202] * 1000
        ids = {r.json()["event_id"] for r in responses}
        assert len(ids) == 1000
        assert {r.json()["event_id"] for r in again} <= ids
        recorded = await db_value(
            database_url, "SELECT count(*) FROM transaction_api.payment_requests "
            "WHERE idempotency_key LIKE $1", f"{main}-%")
        assert recorded == 1000
        await infra("kafka.sh", "up")

        async def unpublished() -> int:
            return int(await db_value(
                database_url, "SELECT count(*) FROM transaction_api.payment_requests "
                "WHERE idempotency_key LIKE $1 AND published_at IS NULL", f"{main}-%"))

        async def outbox_empty() -> bool:
            return await unpublished() == 0

        await wait_until(outbox_empty, 120, interval=0.5, what="the relay to empty the outbox")

        counts = await assert_exactly_once(database_url, main, group,
                                           {UUID(i) for i in ids}, 0, kafka_commit_wait=60)
        assert counts["events"] == 1000
        assert await unpublished() == 0
    finally:
        await infra("kafka.sh", "up")
        await api.crash()
        await consumer.crash()


async def test_postgres_down_gives_fast_503_and_no_partial_record(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    api = api_service(database_url, main).start()
    consumer = consumer_service(database_url, main, dlq, unique("group")).start()
    key = unique("key")
    try:
        await api.ready()
        await consumer.ready()
        await infra("postgres.sh", "down")
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                started = time.monotonic()
                response = await client.post(f"{api.url}/payments", json=payment(),
                                             headers={"Idempotency-Key": key})
                elapsed = time.monotonic() - started
                api_ready = await client.get(f"{api.url}/readyz")
                consumer_ready = await client.get(f"{consumer.url}/readyz")
        finally:
            await infra("postgres.sh", "up")
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) > 0
        assert elapsed < 3.0, elapsed  # a bound against hanging, not a benchmark
        assert api_ready.status_code == consumer_ready.status_code == 503
        assert api_ready.json()["checks"]["database"]["ok"] is False
        partial = await db_value(
            database_url, "SELECT count(*) FROM transaction_api.payment_requests "
            "WHERE idempotency_key = $1", key)
        assert partial == 0
        # Both come back by themselves once PostgreSQL is back.
        await api.ready(30)
        await consumer.ready(30)
    finally:
        await api.crash()
        await consumer.crash()
