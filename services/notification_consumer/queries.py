"""Read queries behind the REST API: keyset pagination, newest first, scoped by owner key.

Database errors are mapped here, where they happen: an outage becomes TransientStoreError.
"""

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_consumer.errors import BadCursor
from notification_consumer.failures import is_transient
from notification_consumer.store import S
from service_kit.errors import TransientStoreError

EVENT_COLUMNS = """event_id, payer_id, payee_id, amount, currency, description, occurred_at,
    topic, partition, "offset", trace_id, processed_at, seq"""
MAX_POSITION = 2**63 - 1  # cursors are bigint positions


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, _, position = raw.partition(":")
        if version != "v1" or not (position.isascii() and position.isdigit()):
            raise ValueError(raw)
        value = int(position)
    except (ValueError, binascii.Error) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if value > MAX_POSITION:
        raise BadCursor("cursor is not one this API returned")
    return value


@asynccontextmanager
async def reading_errors() -> AsyncIterator[None]:
    """An outage inside becomes TransientStoreError; anything else is left as it is."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise TransientStoreError(f"database unavailable: {type(exc).__name__}") from exc
        raise


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with reading_errors(), engine.connect() as conn:
        yield conn


def _page(rows: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1][key]) if more else None}


async def get_event(
    engine: AsyncEngine, event_id: UUID, scope: str | None
) -> dict[str, Any] | None:
    sql = f"SELECT {EVENT_COLUMNS} FROM {S}.processed_events WHERE event_id = :id"
    if scope is not None:
        sql += " AND owner_scope = :scope"
    async with reading(engine) as conn:
        row = (await conn.execute(text(sql), {"id": event_id, "scope": scope})).first()
    return dict(row._mapping) if row is not None else None


async def list_events(
    engine: AsyncEngine, account_id: str | None, limit: int, cursor: str | None,
    scope: str | None,
) -> dict[str, Any]:
    before = decode_cursor(cursor)
    where = ["(CAST(:before AS bigint) IS NULL OR seq < :before)"]
    if account_id is not None:
        where.append("(payer_id = :account OR payee_id = :account)")
    if scope is not None:
        where.append("owner_scope = :scope")
    sql = (f"SELECT {EVENT_COLUMNS} FROM {S}.processed_events WHERE {' AND '.join(where)} "
           "ORDER BY seq DESC LIMIT :limit")
    async with reading(engine) as conn:
        rows = (await conn.execute(text(sql), {"before": before, "account": account_id,
                                               "scope": scope, "limit": limit + 1})).all()
    return _page([dict(r._mapping) for r in rows], limit, "seq")


async def list_notifications(
    engine: AsyncEngine, account_id: str | None, limit: int, cursor: str | None,
    scope: str | None,
) -> dict[str, Any]:
    before = decode_cursor(cursor)
    where = ["(CAST(:before AS bigint) IS NULL OR n.id < :before)"]
    if account_id is not None:
        where.append("n.account_id = :account")
    if scope is not None:
        where.append(f"EXISTS (SELECT 1 FROM {S}.processed_events e "
                     "WHERE e.event_id = n.event_id AND e.owner_scope = :scope)")
    sql = (f"SELECT n.id, n.event_id, n.account_id, n.kind, n.amount, n.currency, "
           f"n.counterparty_id, n.created_at FROM {S}.notifications n "
           f"WHERE {' AND '.join(where)} ORDER BY n.id DESC LIMIT :limit")
    async with reading(engine) as conn:
        rows = (await conn.execute(text(sql), {"before": before, "account": account_id,
                                               "scope": scope, "limit": limit + 1})).all()
    return _page([dict(r._mapping) for r in rows], limit, "id")


DEAD_LETTER_COLUMNS = """id, group_id, topic, partition, "offset", kafka_timestamp, key, value,
    header_keys, header_values, reason, error_class, error_message, attempts, event_id,
    created_at, replayed_at"""


async def list_dead_letters(engine: AsyncEngine, limit: int, cursor: str | None) -> dict[str, Any]:
    before = decode_cursor(cursor)
    sql = (f"SELECT {DEAD_LETTER_COLUMNS} FROM {S}.dead_letters "
           "WHERE CAST(:before AS bigint) IS NULL OR id < :before ORDER BY id DESC LIMIT :limit")
    async with reading(engine) as conn:
        rows = (await conn.execute(text(sql), {"before": before, "limit": limit + 1})).all()
    return _page([dict(r._mapping) for r in rows], limit, "id")
