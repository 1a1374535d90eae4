"""A batch's events and their notifications, written by binary COPY into a per-connection
staging table and then ONE `INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING
RETURNING` whose result also feeds the notifications' insert.

A drop-in for `store.insert_events` (same arguments, same result, same effects), kept apart
until it is wired in. Why, measured in `bench/write_paths.py` (BENCHMARKS.md): binary COPY
rows cost the client 0.45x the CPU of SQLAlchemy's array parameters (this module as it stands,
stage statement included: 0.58-0.79x), and PostgreSQL does the same insert work either way.

Exactly-once effect is unchanged: the primary key on event_id decides, and notifications come
only from rows this statement inserted. The staging table is `ON COMMIT DELETE ROWS`, so
nothing of one batch survives into the next; it is created `IF NOT EXISTS` in every batch's
own transaction, so a rolled-back first batch cannot leave a connection without it (a
connection pool in transaction mode, such as PgBouncer's, would need the same, and has it).
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.processing import EventRow

S = "notification_consumer"
STAGE = "consumer_event_stage"
COLUMNS = ("event_id", "payer_id", "payee_id", "amount", "currency", "description",
           "occurred_at", "topic", "partition", "offset", "payload_hash", "trace_id")

_CREATE_STAGE = f"""
    CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
        event_id uuid, payer_id text, payee_id text, amount text, currency text,
        description text, occurred_at timestamptz, topic text, partition int,
        "offset" bigint, payload_hash text, trace_id text
    ) ON COMMIT DELETE ROWS
"""
# Amounts travel as exact decimal strings and are cast here, like the current path.
_INSERT_FROM_STAGE = f"""
    WITH new AS (
        INSERT INTO {S}.processed_events (event_id, payer_id, payee_id, amount, currency,
            description, occurred_at, topic, partition, "offset", payload_hash, trace_id)
        SELECT event_id, payer_id, payee_id, CAST(amount AS numeric), currency, description,
            occurred_at, topic, partition, "offset", payload_hash, trace_id
        FROM pg_temp.{STAGE}
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, payer_id, payee_id, amount, currency
    ), notes AS (
        INSERT INTO {S}.notifications (event_id, account_id, kind, amount, currency,
            counterparty_id)
        SELECT event_id, payer_id, 'debit', amount, currency, payee_id FROM new
        UNION ALL
        SELECT event_id, payee_id, 'credit', amount, currency, payer_id FROM new
    )
    SELECT event_id FROM new
"""


async def insert_events(conn: AsyncConnection, rows: list[EventRow]) -> set[UUID]:
    """Insert what is new, with its notifications; returns the event ids inserted.

    Runs inside the caller's transaction (the asyncpg connection under `conn`)."""
    if not rows:
        return set()
    # Through SQLAlchemy, not the driver: its asyncpg adapter opens the caller's transaction
    # lazily, on the first statement it executes, and COPY must run inside that transaction.
    await conn.exec_driver_sql(_CREATE_STAGE)  # a no-op after the first batch per connection
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None  # an open AsyncConnection always has its driver connection
    await raw.copy_records_to_table(STAGE, columns=COLUMNS, records=[
        (r.event.event_id, r.event.payer_id, r.event.payee_id, str(r.event.amount),
         r.event.currency, r.event.description, r.event.occurred_at, r.topic, r.partition,
         r.offset, r.payload_hash, r.trace_id)
        for r in rows])
    return {row["event_id"] for row in await raw.fetch(_INSERT_FROM_STAGE)}
