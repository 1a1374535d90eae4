"""The COPY-staging write path (write_path.insert_events) has exactly the effects of the
current one (store.insert_events) on a real PostgreSQL: the same event rows, the same
notifications, the same dedup, the same result."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from notification_consumer import store, write_path
from notification_consumer.processing import EventRow, RecordLike, plan_batch
from payment_events.codec import encode
from payment_events.events import PaymentAccepted

Insert = Callable[[AsyncConnection, list[EventRow]], Awaitable[set[UUID]]]
PATHS: dict[str, Insert] = {"current": store.insert_events, "copy": write_path.insert_events}
S = "notification_consumer"
TRACE = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Rec:
    value: bytes
    offset: int
    partition: int = 0
    topic: str = "write-path"
    timestamp: int = 0
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def records(specs: list[tuple[UUID, str, str, str | None]],
            first_offset: int) -> list[RecordLike]:
    out: list[RecordLike] = []
    for i, (event_id, amount, currency, description) in enumerate(specs):
        event = PaymentAccepted(event_id=event_id, payer_id=f"payer_{i}", payee_id="payee.x",
                                amount=Decimal(amount), currency=currency,
                                description=description, occurred_at=datetime.now(UTC))
        rec = encode(event, TRACE.decode() if i % 2 else None)
        out.append(Rec(rec.value, first_offset + i, partition=i % 3, headers=rec.headers))
    return out


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, pool_size=1, max_overflow=0,
                              connect_args={"server_settings": {"timezone": "UTC"}})
    yield eng
    await eng.dispose()


async def effects(engine: AsyncEngine, ids: list[UUID]) -> dict[str, Any]:
    """Every column but the generated ones (seq, id, timestamps of the write)."""
    async with engine.connect() as conn:
        events = (await conn.execute(text(f"""
            SELECT event_id, payer_id, payee_id, amount, currency, description, occurred_at,
                   topic, partition, "offset", payload_hash, trace_id
            FROM {S}.processed_events WHERE event_id = ANY(:ids) ORDER BY event_id
        """), {"ids": ids})).all()
        notes = (await conn.execute(text(f"""
            SELECT event_id, account_id, kind, amount, currency, counterparty_id
            FROM {S}.notifications WHERE event_id = ANY(:ids) ORDER BY event_id, kind
        """), {"ids": ids})).all()
    return {"events": [tuple(r) for r in events], "notes": [tuple(r) for r in notes]}


async def forget(engine: AsyncEngine, ids: list[UUID]) -> None:
    async with engine.begin() as conn:
        for table in ("processed_events", "notifications"):
            await conn.execute(text(f"DELETE FROM {S}.{table} WHERE event_id = ANY(:ids)"),
                               {"ids": ids})


async def scenario(engine: AsyncEngine, insert: Insert, batches: list[list[RecordLike]],
                   ids: list[UUID]) -> tuple[list[set[UUID]], dict[str, Any]]:
    """Write each batch in its own transaction, as the consumer does; then read the effects."""
    await forget(engine, ids)
    returned = []
    for batch in batches:
        async with engine.begin() as conn:
            returned.append(await insert(conn, plan_batch(batch).events))
    return returned, await effects(engine, ids)


async def test_same_rows_dedup_and_notifications_as_the_current_path(
    engine: AsyncEngine,
) -> None:
    a, b, c, d = uuid4(), uuid4(), uuid4(), uuid4()
    first = records([(a, "12.50", "EUR", "dinner \\ tab\there"), (b, "100", "JPY", None),
                     (c, "1.005", "KWD", "ünïcode ✓")], 0)
    # Redelivery of a and c (same bytes) with a new event d: only d is new.
    second = [first[0], *records([(d, "0.01", "USD", None)], 10), first[2]]
    ids = [a, b, c, d]

    results = {name: await scenario(engine, insert, [first, second], ids)
               for name, insert in PATHS.items()}

    assert results["copy"] == results["current"]
    returned, seen = results["copy"]
    assert returned == [{a, b, c}, {d}]
    assert len(seen["events"]) == 4
    assert len(seen["notes"]) == 8  # a debit and a credit per event, once
    assert {r[3] for r in seen["events"]} == {Decimal("12.5"), Decimal("100"),
                                              Decimal("1.005"), Decimal("0.01")}


async def test_a_rolled_back_first_batch_leaves_the_connection_usable(
    engine: AsyncEngine,
) -> None:
    """The staging table is created inside the batch's transaction: a rollback takes it
    away, and the next batch on the same connection must still work."""
    e1, e2 = uuid4(), uuid4()
    await forget(engine, [e1, e2])
    async with engine.connect() as conn:
        await conn.exec_driver_sql("DISCARD TEMP")  # as if this connection were new
        await conn.commit()
        trans = await conn.begin()
        assert await write_path.insert_events(
            conn, plan_batch(records([(e1, "1.00", "EUR", None)], 0)).events) == {e1}
        await trans.rollback()
        async with conn.begin():
            assert await write_path.insert_events(
                conn, plan_batch(records([(e2, "2.00", "EUR", None)], 1)).events) == {e2}
    seen = await effects(engine, [e1, e2])
    assert [r[0] for r in seen["events"]] == [e2]
    assert len(seen["notes"]) == 2


async def test_a_batch_leaves_nothing_staged_for_the_next(engine: AsyncEngine) -> None:
    e1, e2 = uuid4(), uuid4()
    await forget(engine, [e1, e2])
    async with engine.begin() as conn:
        await write_path.insert_events(
            conn, plan_batch(records([(e1, "1.00", "EUR", None)], 0)).events)
    async with engine.begin() as conn:
        inserted = await write_path.insert_events(
            conn, plan_batch(records([(e2, "1.00", "EUR", None)], 1)).events)
        staged = (await conn.exec_driver_sql(
            f"SELECT count(*) FROM pg_temp.{write_path.STAGE}")).scalar_one()
    assert inserted == {e2}
    assert staged == 1  # only this batch's row, until its commit empties the table
