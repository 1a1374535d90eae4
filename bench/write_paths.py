"""The consumer's batch write, measured path by path with raw asyncpg on one connection.

Every variant does the same transaction per batch: the batch's events with dedup by event id,
the debit and credit notification of each event actually inserted, the partition offsets
(GREATEST), the counters. They differ only in how the events reach PostgreSQL:

  sqlalchemy_today  the CTE over unnest() arrays through SQLAlchemy: the baseline the COPY
                    paths are measured against
  unnest            the same CTE over unnest() arrays, raw asyncpg
  unnest_prepared   the same, as an explicitly prepared statement
  copy_binary       binary COPY into a temp staging table, then INSERT ... SELECT ... ON
                    CONFLICT DO NOTHING RETURNING with the notifications in the same statement
  copy_text         the same with a text-format COPY
  executemany       one prepared per-event statement, pipelined (fetchmany)
  write_path_module the service's path: copy_binary as packaged (store.write_path)
                    through SQLAlchemy, the stage created once per connection
  raw_copy          the ceiling: binary COPY straight into the tables, no dedup

Run: python -m bench.write_paths URL [events] -> one JSON line.
"""

import asyncio
import io
import statistics
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from bench.write_path_orm import run_sqlalchemy
from bench.write_path_sql import (
    COPY_COLUMNS,
    EVENTS_FROM_STAGE,
    EVENTS_FROM_UNNEST,
    EVENTS_ONE,
    STAGE_DDL,
    Meter,
    Row,
    S,
    Sample,
    count,
    offsets,
    rows_for,
)
from notification_consumer.ingest.planning import EventRow
from payment_events.events import PaymentAccepted

Write = Callable[[asyncpg.Connection, list[Row]], Awaitable[int]]


async def unnest(conn: asyncpg.Connection, rows: list[Row]) -> int:
    return len(await conn.fetch(EVENTS_FROM_UNNEST, *zip(*rows, strict=True)))


async def unnest_prepared(conn: asyncpg.Connection, rows: list[Row]) -> int:
    stmt = await conn.prepare(EVENTS_FROM_UNNEST)  # asyncpg caches it: one Parse per conn
    return len(await stmt.fetch(*zip(*rows, strict=True)))


async def copy_binary(conn: asyncpg.Connection, rows: list[Row]) -> int:
    await conn.execute(STAGE_DDL)  # per batch (a no-op once it exists), for a rollback's sake
    await conn.copy_records_to_table("event_stage", records=rows, columns=COPY_COLUMNS)
    return len(await conn.fetch(EVENTS_FROM_STAGE))


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    s = value.isoformat() if isinstance(value, datetime) else str(value)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


async def copy_text(conn: asyncpg.Connection, rows: list[Row]) -> int:
    data = "".join("\t".join(_text(v) for v in row) + "\n" for row in rows).encode()
    await conn.copy_to_table("event_stage", source=io.BytesIO(data), columns=COPY_COLUMNS,
                             format="text")
    return len(await conn.fetch(EVENTS_FROM_STAGE))


async def executemany(conn: asyncpg.Connection, rows: list[Row]) -> int:
    return len(await conn.fetchmany(EVENTS_ONE, rows))


VARIANTS: dict[str, Write] = {"unnest": unnest, "unnest_prepared": unnest_prepared,
                              "copy_binary": copy_binary, "copy_text": copy_text,
                              "executemany": executemany}


async def _truncate(conn: asyncpg.Connection) -> None:
    await conn.execute(f"TRUNCATE {S}.processed_events, {S}.notifications, "
                       f"{S}.consumer_offsets, {S}.consumer_counters")


async def run_variant(url: str, write: Write, batches: list[list[EventRow]]) -> Sample:
    conn = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    try:
        await _truncate(conn)
        await conn.execute(STAGE_DDL)
        meter = Meter(conn.get_server_pid())
        for batch in batches:
            rows = rows_for(batch)  # timed: building the parameters is part of each path
            async with conn.transaction():
                n = await write(conn, rows)
                await offsets(conn, "bench", rows)
                await count(conn, "bench", n)
        return meter.done()
    finally:
        await conn.close()


async def run_raw_copy(url: str, batches: list[list[EventRow]]) -> Sample:
    conn = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    try:
        await _truncate(conn)
        meter = Meter(conn.get_server_pid())
        for batch in batches:
            rows = rows_for(batch)
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "processed_events", schema_name=S, columns=[*COPY_COLUMNS, "topic"],
                    records=[(*r[:3], Decimal(r[3]), *r[4:], "bench") for r in rows])
                notes = [(r[0], a, k, Decimal(r[3]), r[4], b)
                         for r in rows for a, k, b in ((r[1], "debit", r[2]),
                                                        (r[2], "credit", r[1]))]
                await conn.copy_records_to_table(
                    "notifications", schema_name=S, records=notes, columns=[
                        "event_id", "account_id", "kind", "amount", "currency",
                        "counterparty_id"])
        return meter.done()
    finally:
        await conn.close()


class _Record:
    """Just enough of a Kafka record for EventRow."""

    def __init__(self, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = "bench", partition, offset


def events(n: int) -> list[EventRow]:
    now = datetime.now(UTC)
    return [EventRow(PaymentAccepted(event_id=uuid.uuid4(), payer_id=f"acct_{i % 997}",
                                     payee_id=f"acct_{i % 997 + 1000}", amount=Decimal("1.25"),
                                     currency="EUR", description="bench", occurred_at=now),
                     _Record(i % 6, i // 6), "0" * 64, None)  # type: ignore[arg-type]
            for i in range(n)]


async def main(url: str, n: int, batch: int, runs: int) -> dict[str, Any]:
    rows = events(n)
    ev_batches = [rows[i:i + batch] for i in range(0, n, batch)]
    times: dict[str, list[Sample]] = {}
    for _ in range(runs):  # interleaved, so every variant sees the same noise
        times.setdefault("sqlalchemy_today", []).append(
            await run_sqlalchemy(url, ev_batches, service_path=False))
        times.setdefault("write_path_module", []).append(
            await run_sqlalchemy(url, ev_batches, service_path=True))
        for name, write in VARIANTS.items():
            times.setdefault(name, []).append(await run_variant(url, write, ev_batches))
        times.setdefault("raw_copy", []).append(await run_raw_copy(url, ev_batches))
    def per_10k(samples: list[Sample], i: int) -> float:
        return statistics.median(s[i] for s in samples) * 10_000 / n

    return {"events": n, "batch": batch, "runs": runs,
            "rate": {k: n / statistics.median(s[0] for s in v) for k, v in times.items()},
            "client_cpu_per_10k": {k: per_10k(v, 1) for k, v in times.items()},
            "server_cpu_per_10k": {k: per_10k(v, 2) for k, v in times.items()},
            "samples": times}


if __name__ == "__main__":
    args = sys.argv[1:]
    url = args[0].replace("+asyncpg", "")
    n = int(args[1]) if len(args) > 1 else 50_000
    batch = int(args[2]) if len(args) > 2 else 500
    runs = int(args[3]) if len(args) > 3 else 3
    sys.stdout.write(orjson.dumps(asyncio.run(main(url, n, batch, runs))).decode() + "\n")
