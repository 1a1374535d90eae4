"""The SQL and the meter the write-path variants share (bench/write_paths.py)."""

import os
import time
from pathlib import Path
from typing import Any

import asyncpg

from notification_consumer.ingest.planning import EventRow

S = "notification_consumer"
CLK = os.sysconf("SC_CLK_TCK")
Sample = tuple[float, float, float]  # wall, client CPU, server CPU (seconds)
# event_id, payer_id, payee_id, amount (text), currency, description, occurred_at, partition,
# offset, payload_hash, trace_id
Row = tuple[Any, ...]
COPY_COLUMNS = ["event_id", "payer_id", "payee_id", "amount", "currency", "description",
                "occurred_at", "partition", "offset", "payload_hash", "trace_id"]

_NOTES = f"""
    , notes AS (
        INSERT INTO {S}.notifications (event_id, account_id, kind, amount, currency,
            counterparty_id)
        SELECT event_id, payer_id, 'debit', amount, currency, payee_id FROM new
        UNION ALL
        SELECT event_id, payee_id, 'credit', amount, currency, payer_id FROM new
    )
    SELECT event_id FROM new"""
_INSERT = f"""
    WITH new AS (
        INSERT INTO {S}.processed_events (event_id, payer_id, payee_id, amount, currency,
            description, occurred_at, topic, partition, "offset", payload_hash, trace_id)
        SELECT i, pr, pe, a::numeric, c, d, o, 'bench', p, f, h, tr FROM {{source}}
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, payer_id, payee_id, amount, currency
    ){_NOTES}"""
EVENTS_FROM_UNNEST = _INSERT.format(source="""unnest($1::uuid[], $2::text[], $3::text[],
    $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::int[], $9::bigint[],
    $10::text[], $11::text[]) AS b(i, pr, pe, a, c, d, o, p, f, h, tr)""")
EVENTS_FROM_STAGE = _INSERT.format(source="""event_stage AS b(i, pr, pe, a, c, d, o, p, f, h,
    tr)""")
EVENTS_ONE = _INSERT.format(source="""(VALUES ($1::uuid, $2::text, $3::text, $4::text,
    $5::text, $6::text, $7::timestamptz, $8::int, $9::bigint, $10::text, $11::text))
    AS b(i, pr, pe, a, c, d, o, p, f, h, tr)""")
STAGE_DDL = """
    CREATE TEMP TABLE IF NOT EXISTS event_stage (event_id uuid, payer_id text, payee_id text,
        amount text, currency text, description text, occurred_at timestamptz,
        partition int, "offset" bigint, payload_hash text, trace_id text)
    ON COMMIT DELETE ROWS"""
_OFFSETS = f"""
    INSERT INTO {S}.consumer_offsets (group_id, topic, partition, next_offset)
    SELECT $1, 'bench', * FROM unnest($2::int[], $3::bigint[])
    ON CONFLICT (group_id, topic, partition) DO UPDATE
        SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
            updated_at = now()"""
_COUNT = f"""
    INSERT INTO {S}.consumer_counters AS c (group_id, processed, duplicates, dead_letters)
    VALUES ($1, $2, 0, 0)
    ON CONFLICT (group_id) DO UPDATE SET processed = c.processed + EXCLUDED.processed"""


def rows_for(batch: list[EventRow]) -> list[Row]:
    return [(r.event.event_id, r.event.payer_id, r.event.payee_id, str(r.event.amount),
             r.event.currency, r.event.description, r.event.occurred_at, r.partition,
             r.offset, r.payload_hash, r.trace_id) for r in batch]


async def offsets(conn: asyncpg.Connection, group: str, rows: list[Row]) -> None:
    last: dict[int, int] = {}
    for r in rows:
        last[r[7]] = max(last.get(r[7], 0), r[8] + 1)
    await conn.execute(_OFFSETS, group, list(last), list(last.values()))


async def count(conn: asyncpg.Connection, group: str, processed: int) -> None:
    await conn.execute(_COUNT, group, processed)


class Meter:
    """Wall time, and CPU seconds of this process and of the PostgreSQL backend serving it:
    on a shared machine CPU per event is steadier than wall time."""

    def __init__(self, backend_pid: int) -> None:
        self.stat = Path(f"/proc/{backend_pid}/stat")
        self.wall, self.client, self.server = (time.perf_counter(), time.process_time(),
                                               self._server())

    def _server(self) -> float:
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # PostgreSQL on another host: no server CPU figure
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLK

    def done(self) -> Sample:
        return (time.perf_counter() - self.wall, time.process_time() - self.client,
                self._server() - self.server)
