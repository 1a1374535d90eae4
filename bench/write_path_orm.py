"""The batch transaction through SQLAlchemy, as the service runs it (bench/write_paths.py):
the COPY path as packaged (`write_path`), or the unnest CTE the service used before it; then
the fenced offsets and the counters."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bench.write_path_sql import Meter, S, Sample
from notification_consumer.ingest.planning import EventRow
from notification_consumer.store import batch_sql, write_path

# The service's event insert before the COPY path: one CTE over unnest() arrays.
_UNNEST_CTE = text(f"""
    WITH new AS (
        INSERT INTO {S}.processed_events (event_id, payer_id, payee_id, amount, currency,
            description, occurred_at, topic, partition, "offset", payload_hash, trace_id,
            owner_scope)
        SELECT i, pr, pe, CAST(a AS numeric), c, d, o, t, p, f, h, tr, sc
        FROM unnest(CAST(:ids AS uuid[]), CAST(:payers AS text[]), CAST(:payees AS text[]),
            CAST(:amounts AS text[]), CAST(:currencies AS text[]), CAST(:descriptions AS text[]),
            CAST(:occurred AS timestamptz[]), CAST(:topics AS text[]), CAST(:partitions AS int[]),
            CAST(:offsets AS bigint[]), CAST(:hashes AS text[]), CAST(:traces AS text[]),
            CAST(:scopes AS text[]))
            AS batch(i, pr, pe, a, c, d, o, t, p, f, h, tr, sc)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, payer_id, payee_id, amount, currency
    ), {write_path.NOTES_OF_NEW}
    SELECT event_id FROM new
""")


async def unnest_sqlalchemy(conn: AsyncConnection, rows: list[EventRow]) -> set[uuid.UUID]:
    result = await conn.execute(_UNNEST_CTE, {
        "ids": [r.event.event_id for r in rows],
        "payers": [r.event.payer_id for r in rows],
        "payees": [r.event.payee_id for r in rows],
        "amounts": [str(r.event.amount) for r in rows],
        "currencies": [r.event.currency for r in rows],
        "descriptions": [r.event.description for r in rows],
        "occurred": [r.event.occurred_at for r in rows],
        "topics": [r.topic for r in rows],
        "partitions": [r.partition for r in rows],
        "offsets": [r.offset for r in rows],
        "hashes": [r.payload_hash for r in rows],
        "traces": [r.trace_id for r in rows],
        "scopes": [r.owner_scope for r in rows],
    })
    return {row.event_id for row in result}


async def run_sqlalchemy(url: str, batches: list[list[EventRow]], service_path: bool) -> Sample:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"),
                                 pool_size=1, max_overflow=0,
                                 connect_args={"server_settings": {"timezone": "UTC"}})
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {S}.processed_events, {S}.notifications")
            pid = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
            # The offsets are fenced: claim every partition the batches touch, as a consumer
            # does on assignment, so each batch moves them like the real write does.
            partitions = sorted({(r.topic, r.partition) for b in batches for r in b})
            await batch_sql.claim(conn, "bench", partitions, 0, "bench", 0.0)
        meter = Meter(pid)
        for batch in batches:
            next_offsets = {(r.topic, r.partition): r.offset + 1 for r in batch}
            async with engine.begin() as conn:
                if service_path:
                    await write_path.ensure_stage(conn)
                    inserted = await write_path.insert_events(conn, batch)
                else:
                    inserted = await unnest_sqlalchemy(conn, batch)
                if service_path:  # offsets and counters in one statement, as the service does
                    await batch_sql.store_offsets(conn, "bench", next_offsets, 0, "bench",
                                                  (len(inserted), 0, 0))
                else:
                    await batch_sql.store_offsets(conn, "bench", next_offsets, 0, "bench")
                    await batch_sql.count(conn, "bench", len(inserted), 0, 0)
        return meter.done()
    finally:
        await engine.dispose()
