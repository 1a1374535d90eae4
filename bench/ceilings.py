"""The drain ceilings, each a subprocess printing one JSON line:

  python -m bench.ceilings consume TOPIC N   raw aiokafka: read N records, no database
  python -m bench.ceilings copy URL N        raw asyncpg COPY of N events' rows and their
                                             notifications into our tables, no Kafka, no dedup
"""

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bench.settings import BOOTSTRAP, PARTITIONS
from service_kit.kafka import stop_client
from service_kit.tracing import new_trace


async def consume(topic: str, n: int) -> dict[str, float]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        started = time.perf_counter()
        seen = 0
        while seen < n and time.perf_counter() - started < 300:
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            seen += sum(len(records) for records in batch.values())
        elapsed = time.perf_counter() - started
    finally:
        await stop_client(consumer)
    return {"records": seen, "seconds": elapsed, "rate": seen / elapsed}


async def copy(url: str, n: int) -> dict[str, float]:
    now = datetime.now(UTC)
    events, notes = [], []
    for i in range(n):
        eid = uuid.uuid4()
        payer, payee = f"acct_{i % 97}", f"acct_{i % 97 + 100}"
        events.append((eid, payer, payee, Decimal("1.25"), "EUR", "bench", now, "bench", i % 6,
                       i // 6, "0" * 64, new_trace().trace_id))
        notes.append((eid, payer, "debit", Decimal("1.25"), "EUR", payee))
        notes.append((eid, payee, "credit", Decimal("1.25"), "EUR", payer))
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute("TRUNCATE notification_consumer.processed_events, "
                           "notification_consumer.notifications")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "processed_events", schema_name="notification_consumer", records=events,
                columns=["event_id", "payer_id", "payee_id", "amount", "currency",
                         "description", "occurred_at", "topic", "partition", "offset",
                         "payload_hash", "trace_id"])
            await conn.copy_records_to_table(
                "notifications", schema_name="notification_consumer", records=notes,
                columns=["event_id", "account_id", "kind", "amount", "currency",
                         "counterparty_id"])
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return {"records": n, "seconds": elapsed, "rate": n / elapsed}


def main() -> None:
    kind, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    result = asyncio.run(consume(target, n) if kind == "consume" else copy(target, n))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
