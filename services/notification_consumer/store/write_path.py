"""A batch's events and their notifications: binary COPY into a per-connection staging table,
then ONE `INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING RETURNING` whose result
also feeds the notifications' insert. A small batch (at most SMALL_BATCH events) is the same
INSERT over array parameters instead, without the stage.

Why COPY: the rows travel in asyncpg's binary COPY format, which costs the client far less CPU
than array parameters (BENCHMARKS.md, "Drain write path"), and PostgreSQL does the same insert
work either way. Why not for small batches: a COPY is two round trips more (the COPY waits for
the server's go-ahead, then the INSERT follows), which is most of a small batch's time; the
client CPU it saves only pays for hundreds of rows.

Order: rows are inserted in offset order per partition, so `seq` shows the order in which
one account's events were applied (a release of parked records included).

Exactly-once effect: the primary key on event_id decides, and notifications come only from
rows this statement inserted, in one INSERT (its statement-level triggers queue the webhook
deliveries in the same transaction). The staging table is `ON COMMIT DELETE ROWS`, so nothing
of one batch survives into the next.

The staging table is created once per database connection, in autocommit before that
connection's first batch transaction (`ensure_stage`), so a batch that rolls back cannot take
it away. It needs session pooling: behind a transaction-mode pooler (PgBouncer) a batch could
land on a server connection without the table; it then fails as a transient error, the
connection is marked unprepared, and the next attempt prepares it again.
"""

from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.ingest.planning import EventRow
from service_kit.errors import TransientStoreError

S = "notification_consumer"
STAGE = "consumer_event_stage"
COLUMNS = ("event_id", "payer_id", "payee_id", "amount", "currency", "description",
           "occurred_at", "topic", "partition", "offset", "payload_hash", "trace_id",
           "traceparent", "owner_scope")

_CREATE_STAGE = f"""
    CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
        event_id uuid, payer_id text, payee_id text, amount text, currency text,
        description text, occurred_at timestamptz, topic text, partition int,
        "offset" bigint, payload_hash text, trace_id text, traceparent text, owner_scope text
    ) ON COMMIT DELETE ROWS
"""
# The notifications of the rows a CTE named `new` inserted (event_id, payer_id, payee_id,
# amount, currency): the debit notice for the payer and the credit notice for the payee.
NOTES_OF_NEW = f"""notes AS (
        INSERT INTO {S}.notifications (event_id, account_id, kind, amount, currency,
            counterparty_id)
        SELECT event_id, payer_id, 'debit', amount, currency, payee_id FROM new
        UNION ALL
        SELECT event_id, payee_id, 'credit', amount, currency, payer_id FROM new
    )"""
# One statement writes a batch's new events and, for exactly those, their notifications.
# Amounts travel as exact decimal strings and are cast by PostgreSQL.
_INSERT_FROM_STAGE = f"""
    WITH new AS (
        INSERT INTO {S}.processed_events (event_id, payer_id, payee_id, amount, currency,
            description, occurred_at, topic, partition, "offset", payload_hash, trace_id,
            traceparent, owner_scope)
        SELECT event_id, payer_id, payee_id, CAST(amount AS numeric), currency, description,
            occurred_at, topic, partition, "offset", payload_hash, trace_id, traceparent,
            owner_scope
        FROM pg_temp.{STAGE} ORDER BY partition, "offset"
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, payer_id, payee_id, amount, currency
    ), {NOTES_OF_NEW}
    SELECT event_id FROM new
"""


# The same insert over one array per column, for a small batch: one round trip.
_ARRAY_TYPES = ("uuid", "text", "text", "text", "text", "text", "timestamptz", "text", "int4",
                "int8", "text", "text", "text", "text")
_INSERT_FROM_ARRAYS = _INSERT_FROM_STAGE.replace(
    f"FROM pg_temp.{STAGE}",
    "FROM unnest({}) AS s({})".format(
        ", ".join(f"${i}::{t}[]" for i, t in enumerate(_ARRAY_TYPES, start=1)),
        ", ".join(f'"{c}"' for c in COLUMNS)))
assert _INSERT_FROM_ARRAYS != _INSERT_FROM_STAGE
SMALL_BATCH = 64

_OPEN = "SELECT 1"  # any statement: what matters is the BEGIN the adapter sends before it


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None  # an open AsyncConnection always has its driver connection
    return raw


async def ensure_stage(conn: AsyncConnection) -> None:
    """Create the staging table on this connection if it has not been yet. Call it before the
    transaction's first statement: the table is created in autocommit, so it outlives any
    batch that rolls back. `conn.info` lives as long as the database connection."""
    if conn.info.get(STAGE):
        return
    raw = await _driver(conn)
    if raw.is_in_transaction():
        raise RuntimeError("ensure_stage must run before the transaction's first statement")
    await raw.execute(_CREATE_STAGE)
    conn.info[STAGE] = True


async def insert_events(conn: AsyncConnection, rows: list[EventRow]) -> set[UUID]:
    """Insert what is new, with its notifications; returns the event ids inserted.

    Runs inside the caller's transaction, on a connection `ensure_stage` has prepared."""
    if not rows:
        return set()
    raw = await _driver(conn)
    if not raw.is_in_transaction():
        # SQLAlchemy's asyncpg adapter begins the transaction lazily, on the first statement
        # sent through it; the COPY below goes around it and must not run in autocommit.
        await conn.exec_driver_sql(_OPEN)
    records = [
        (r.event.event_id, r.event.payer_id, r.event.payee_id, str(r.event.amount),
         r.event.currency, r.event.description, r.event.occurred_at, r.topic,
         r.partition, r.offset, r.payload_hash, r.trace_id, r.traceparent, r.owner_scope)
        for r in rows]
    if len(records) <= SMALL_BATCH:
        columns = [list(column) for column in zip(*records, strict=True)]
        return {row["event_id"] for row in await raw.fetch(_INSERT_FROM_ARRAYS, *columns)}
    try:
        await raw.copy_records_to_table(STAGE, columns=COLUMNS, records=records)
    except asyncpg.UndefinedTableError as exc:
        # The session lost its temp tables (DISCARD, a pooler): prepare it again next time.
        conn.info.pop(STAGE, None)
        raise TransientStoreError("the staging table is missing on this connection") from exc
    return {row["event_id"] for row in await raw.fetch(_INSERT_FROM_STAGE)}
