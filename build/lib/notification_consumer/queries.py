"""Read queries behind the REST API: keyset pagination, newest first."""

import base64
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.store import S

EVENT_COLUMNS = """event_id, payer_id, payee_id, amount, currency, description, occurred_at,
    topic, partition, "offset", trace_id, processed_at, seq"""


class BadCursor(ValueError):
    pass


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, position = raw.partition(":")
        if version != "v1" or not position.isdigit():
            raise ValueError(raw)
        return int(position)
    except ValueError as exc:
        raise BadCursor("cursor is not one this API returned") from exc


def _page(rows: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1][key]) if more else None}


async def get_event(engine: AsyncEngine, event_id: UUID) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(
            text(f"SELECT {EVENT_COLUMNS} FROM {S}.processed_events WHERE event_id = :id"),
            {"id": event_id})).first()
    return dict(row._mapping) if row is not None else None


async def list_events(
    engine: AsyncEngine, account_id: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    before = decode_cursor(cursor)
    where = ["(CAST(:before AS bigint) IS NULL OR seq < :before)"]
    if account_id is not None:
        where.append("(payer_id = :account OR payee_id = :account)")
    sql = (f"SELECT {EVENT_COLUMNS} FROM {S}.processed_events WHERE {' AND '.join(where)} "
           "ORDER BY seq DESC LIMIT :limit")
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"before": before, "account": account_id,
                                               "limit": limit + 1})).all()
    return _page([dict(r._mapping) for r in rows], limit, "seq")


async def list_notifications(
    engine: AsyncEngine, account_id: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    before = decode_cursor(cursor)
    where = ["(CAST(:before AS bigint) IS NULL OR id < :before)"]
    if account_id is not None:
        where.append("account_id = :account")
    sql = (f"SELECT id, event_id, account_id, kind, amount, currency, counterparty_id, "
           f"created_at FROM {S}.notifications WHERE {' AND '.join(where)} "
           "ORDER BY id DESC LIMIT :limit")
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"before": before, "account": account_id,
                                               "limit": limit + 1})).all()
    return _page([dict(r._mapping) for r in rows], limit, "id")


DEAD_LETTER_COLUMNS = """id, group_id, topic, partition, "offset", kafka_timestamp, key, value,
    headers, reason, error_class, error_message, attempts, event_id, created_at, replayed_at"""


async def list_dead_letters(engine: AsyncEngine, limit: int, cursor: str | None) -> dict[str, Any]:
    before = decode_cursor(cursor)
    sql = (f"SELECT {DEAD_LETTER_COLUMNS} FROM {S}.dead_letters "
           "WHERE CAST(:before AS bigint) IS NULL OR id < :before ORDER BY id DESC LIMIT :limit")
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"before": before, "limit": limit + 1})).all()
    return _page([dict(r._mapping) for r in rows], limit, "id")
