"""The bench's own database and topics on the local PostgreSQL and Kafka."""

import asyncio
import os
import re
import subprocess
import uuid
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bench.settings import ADMIN_URL, BIN, BOOTSTRAP, PARTITIONS, service_env
from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics, stop_client

# Its own database, dropped and made afresh per run (BENCH_DATABASE: two checkouts on one
# PostgreSQL must not share it).
DB_NAME = os.environ.get("BENCH_DATABASE", "paystream_bench")
CREATED_TOPICS: list[str] = []
KAFKA = KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP)


def libpq(url: str) -> str:
    return url.replace("+asyncpg", "")


def bench_database() -> str:
    """A fresh database with both services' migrations; returns its SQLAlchemy URL."""
    async def reset() -> None:
        conn = await asyncpg.connect(libpq(ADMIN_URL))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        finally:
            await conn.close()

    asyncio.run(reset())
    url = re.sub(r"/[^/]*$", f"/{DB_NAME}", ADMIN_URL)
    for script in ("transaction-api", "notification-consumer"):
        subprocess.run([str(BIN / script), "migrate"], env=service_env(DATABASE_URL=url),
                       check=True, capture_output=True, timeout=120)
    return url


def new_topics(prefix: str) -> tuple[str, str]:
    main = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(KAFKA, [main, f"{main}.dlq"], PARTITIONS))
    CREATED_TOPICS.extend([main, f"{main}.dlq"])
    return main, f"{main}.dlq"


def delete_created_topics() -> None:
    """Hundreds of MB of events per run: do not leave them on the local broker."""
    if CREATED_TOPICS:
        asyncio.run(delete_topics(KAFKA, CREATED_TOPICS))


async def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(libpq(url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def run_sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(sql(url, query, *args))


def truncate_consumer(url: str) -> None:
    run_sql(url, "TRUNCATE notification_consumer.processed_events, "
                 "notification_consumer.notifications, notification_consumer.consumer_offsets,"
                 " notification_consumer.consumer_counters, notification_consumer.dead_letters"
                 " CASCADE")  # dead-letter replays and webhook deliveries hang off these


async def _end_offsets(topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: int(o) for tp, o in ends.items() if o}
    finally:
        await stop_client(consumer)


def end_offsets(topic: str) -> dict[int, int]:
    return asyncio.run(_end_offsets(topic))


def committed_everything(url: str, topic: str, group: str, ends: dict[int, int]) -> bool:
    rows = run_sql(url, "SELECT partition, next_offset FROM notification_consumer."
                        "consumer_offsets WHERE group_id = $1 AND topic = $2", group, topic)
    return {r["partition"]: r["next_offset"] for r in rows} == ends
