"""The consumer's event write (write_path: binary COPY into a per-connection stage, then one
INSERT ... ON CONFLICT feeding the notifications; a small batch the same INSERT over array
parameters) on a real PostgreSQL: exactly the expected event rows and notifications, dedup by
event id, the ids inserted, by either path; the stage outlives a rolled-back batch and comes
back on a connection that lost it."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from notification_consumer.ingest.planning import EventRow, RecordLike, plan_batch
from notification_consumer.store import write_path
from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.errors import TransientStoreError
from tests.unit.consumer_fakes import Rec

S = "notification_consumer"
TRACE = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def records(specs: list[tuple[UUID, str, str, str | None]],
            first_offset: int) -> list[RecordLike]:
    out: list[RecordLike] = []
    for i, (event_id, amount, currency, description) in enumerate(specs):
        event = PaymentAccepted(event_id=event_id, payer_id=f"payer_{i}", payee_id="payee.x",
                                amount=Decimal(amount), currency=currency,
                                description=description, occurred_at=datetime.now(UTC))
        rec = encode(event, TRACE.decode() if i % 2 else None,
                     owner_scope="0123456789abcdef" if i == 2 else None)
        out.append(Rec(rec.value, first_offset + i, partition=i % 3, topic="write-path",
                       headers=rec.headers))
    return out


@pytest.fixture(params=["copy", "arrays"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Either write path, whatever the batch's size."""
    monkeypatch.setattr(write_path, "SMALL_BATCH", 0 if request.param == "copy" else 10**6)
    return str(request.param)


@pytest.fixture
def copy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_path, "SMALL_BATCH", 0)


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
                   topic, partition, "offset", payload_hash, trace_id, owner_scope
            FROM {S}.processed_events WHERE event_id = ANY(:ids) ORDER BY event_id
        """), {"ids": ids})).all()
        notes = (await conn.execute(text(f"""
            SELECT event_id, account_id, kind, amount, currency, counterparty_id
            FROM {S}.notifications WHERE event_id = ANY(:ids) ORDER BY event_id, kind
        """), {"ids": ids})).all()
    return {"events": [tuple(r) for r in events], "notes": [tuple(r) for r in notes]}


def expected(rows: list[EventRow]) -> dict[str, Any]:
    """The effects of `rows` written once, computed without the database."""
    events, notes = [], []
    for r in sorted(rows, key=lambda r: r.event.event_id):
        e = r.event
        events.append((e.event_id, e.payer_id, e.payee_id, e.amount, e.currency, e.description,
                       e.occurred_at, r.topic, r.partition, r.offset, r.payload_hash,
                       r.trace_id, r.owner_scope))
        notes += [(e.event_id, e.payee_id, "credit", e.amount, e.currency,
                   e.payer_id),
                  (e.event_id, e.payer_id, "debit", e.amount, e.currency, e.payee_id)]
    return {"events": events, "notes": notes}


async def write(conn: AsyncConnection, rows: list[EventRow]) -> set[UUID]:
    """As the consumer's batch does: the stage before the transaction's first statement, then
    the events."""
    await write_path.ensure_stage(conn)
    return await write_path.insert_events(conn, rows)


async def forget(engine: AsyncEngine, ids: list[UUID]) -> None:
    async with engine.begin() as conn:
        for table in ("processed_events", "notifications"):
            await conn.execute(text(f"DELETE FROM {S}.{table} WHERE event_id = ANY(:ids)"),
                               {"ids": ids})


async def test_rows_dedup_and_notifications_are_exactly_the_expected_ones(
    engine: AsyncEngine, path: str,
) -> None:
    a, b, c, d = uuid4(), uuid4(), uuid4(), uuid4()
    first = records([(a, "12.50", "EUR", "dinner \\ tab\there"), (b, "100", "JPY", None),
                     (c, "1.005", "KWD", "ünïcode ✓")], 0)
    # Redelivery of a and c (same bytes) with a new event d: only d is new.
    second = [first[0], *records([(d, "0.01", "USD", None)], 10), first[2]]
    ids = [a, b, c, d]
    await forget(engine, ids)

    returned = []
    for batch in (first, second):
        async with engine.begin() as conn:
            returned.append(await write(conn, plan_batch(batch).events))

    assert returned == [{a, b, c}, {d}]
    written = plan_batch(first).events + plan_batch(second[1:2]).events
    seen = await effects(engine, ids)
    assert seen == expected(written)
    assert len(seen["notes"]) == 8  # a debit and a credit per event, once
    assert {r[3] for r in seen["events"]} == {Decimal("12.5"), Decimal("100"),
                                              Decimal("1.005"), Decimal("0.01")}
    assert {r[11] for r in seen["events"]} == {None, TRACE.decode().split("-")[1]}


async def test_a_rolled_back_batch_leaves_the_stage_in_place(
    engine: AsyncEngine, copy_path: None,
) -> None:
    """The stage is created in autocommit before the first batch: a rollback cannot take it
    away, and the next batch on the same connection works."""
    e1, e2 = uuid4(), uuid4()
    await forget(engine, [e1, e2])
    async with engine.connect() as conn:
        await conn.exec_driver_sql("DISCARD TEMP")  # as if this connection were new
        await conn.commit()
        conn.info.pop(write_path.STAGE, None)
        trans = await conn.begin()
        assert await write(conn, plan_batch(records([(e1, "1.00", "EUR", None)], 0)).events
                           ) == {e1}
        await trans.rollback()
        async with conn.begin():
            assert await write(conn, plan_batch(records([(e2, "2.00", "EUR", None)], 1)).events
                               ) == {e2}
    seen = await effects(engine, [e1, e2])
    assert [r[0] for r in seen["events"]] == [e2]
    assert len(seen["notes"]) == 2


async def test_a_connection_that_lost_the_stage_fails_transiently_then_recovers(
    engine: AsyncEngine, copy_path: None,
) -> None:
    e1 = uuid4()
    await forget(engine, [e1])
    rows = plan_batch(records([(e1, "1.00", "EUR", None)], 0)).events
    async with engine.begin() as conn:
        await write(conn, [])  # prepares the connection
    async with engine.connect() as conn:
        await conn.exec_driver_sql("DISCARD TEMP")  # a pooler or an operator dropped it
        await conn.commit()
        with pytest.raises(TransientStoreError):
            async with conn.begin():
                await write(conn, rows)
        async with conn.begin():
            assert await write(conn, rows) == {e1}
    assert len((await effects(engine, [e1]))["notes"]) == 2


async def test_the_events_roll_back_with_the_callers_transaction(
    engine: AsyncEngine, path: str,
) -> None:
    """The batch's first statement is the COPY, which goes around SQLAlchemy: it must still
    run inside the transaction SQLAlchemy opens, never in autocommit."""
    e1 = uuid4()
    await forget(engine, [e1])
    async with engine.connect() as conn:
        await write_path.ensure_stage(conn)
        assert await write_path.insert_events(
            conn, plan_batch(records([(e1, "1.00", "EUR", None)], 0)).events) == {e1}
        await conn.rollback()
    assert (await effects(engine, [e1])) == {"events": [], "notes": []}


async def test_a_batch_leaves_nothing_staged_for_the_next(
    engine: AsyncEngine, copy_path: None,
) -> None:
    e1, e2 = uuid4(), uuid4()
    await forget(engine, [e1, e2])
    async with engine.begin() as conn:
        await write(conn, plan_batch(records([(e1, "1.00", "EUR", None)], 0)).events)
    async with engine.begin() as conn:
        inserted = await write(conn, plan_batch(records([(e2, "1.00", "EUR", None)], 1)).events)
        staged = (await conn.exec_driver_sql(
            f"SELECT count(*) FROM pg_temp.{write_path.STAGE}")).scalar_one()
    assert inserted == {e2}
    assert staged == 1  # only this batch's row, until its commit empties the table


async def test_a_small_batch_skips_the_stage_and_a_large_one_uses_it(
    engine: AsyncEngine,
) -> None:
    """At most SMALL_BATCH events go in one statement (the stage stays empty); one more and
    they travel by COPY through the stage."""
    small: list[tuple[UUID, str, str, str | None]] = [
        (uuid4(), "1.00", "EUR", None) for _ in range(write_path.SMALL_BATCH)]
    large: list[tuple[UUID, str, str, str | None]] = [
        (uuid4(), "2.00", "EUR", None) for _ in range(write_path.SMALL_BATCH + 1)]
    ids = [spec[0] for spec in small + large]
    await forget(engine, ids)
    staged = []
    for specs, first in ((small, 0), (large, 1000)):
        async with engine.begin() as conn:
            inserted = await write(conn, plan_batch(records(specs, first)).events)
            assert inserted == {spec[0] for spec in specs}
            staged.append((await conn.exec_driver_sql(
                f"SELECT count(*) FROM pg_temp.{write_path.STAGE}")).scalar_one())
    assert staged == [0, write_path.SMALL_BATCH + 1]
    seen = await effects(engine, ids)
    assert len(seen["events"]) == len(ids) and len(seen["notes"]) == 2 * len(ids)
