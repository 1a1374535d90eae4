"""Read queries behind the REST API: keyset pagination, newest first, scoped by owner key.

Database errors are mapped here, where they happen: an outage becomes TransientStoreError.
"""

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_consumer.store.batch_sql import S
from service_kit.errors import BadRequest, ServiceError, TransientStoreError
from service_kit.failures import is_transient

EVENT_COLUMNS = """event_id, payer_id, payee_id, amount, currency, description, occurred_at,
    topic, partition, "offset", trace_id, processed_at, seq"""
MAX_POSITION = 2**63 - 1  # cursors are bigint positions


class BadCursor(BadRequest):
    """A cursor this API never returned (garbage, out of range)."""

    field = "cursor"


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
    """An outage inside becomes TransientStoreError; anything else is left as it is (our
    own errors are classified already)."""
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientStoreError(f"database unavailable: {type(exc).__name__}") from exc
        raise


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with reading_errors(), engine.connect() as conn:
        yield conn


async def _newest_first(engine: AsyncEngine, select: str, position: str, where: list[str],
                        params: dict[str, Any], limit: int, cursor: str | None
                        ) -> dict[str, Any]:
    """One page of `select` (its FROM included), newest first by the bigint `position`
    column; the cursor is the last row's position."""
    conditions = [f"(CAST(:before AS bigint) IS NULL OR {position} < :before)", *where]
    sql = (f"{select} WHERE {' AND '.join(conditions)} ORDER BY {position} DESC "
           "LIMIT :limit")
    values = {**params, "before": decode_cursor(cursor), "limit": limit + 1}
    async with reading(engine) as conn:
        rows = [dict(r._mapping) for r in (await conn.execute(text(sql), values)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    key = position.rpartition(".")[2]
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


@dataclass(frozen=True)
class AccountListing:
    """A list newest first, of one account's rows or all, limited to what a key created."""

    select: str  # the SELECT with its FROM
    position: str  # the bigint column the list is ordered and paged by
    of_account: str  # the condition on :account
    in_scope: str  # the condition on :scope (the key that accepted the payment)

    async def page(self, engine: AsyncEngine, account_id: str | None, limit: int,
                   cursor: str | None, scope: str | None) -> dict[str, Any]:
        where = [clause for clause, value in ((self.of_account, account_id),
                                              (self.in_scope, scope)) if value is not None]
        return await _newest_first(engine, self.select, self.position, where,
                                   {"account": account_id, "scope": scope}, limit, cursor)


list_events = AccountListing(
    select=f"SELECT {EVENT_COLUMNS} FROM {S}.processed_events",
    position="seq",
    of_account="(payer_id = :account OR payee_id = :account)",
    in_scope="owner_scope = :scope",
).page
list_notifications = AccountListing(
    select="SELECT n.id, n.event_id, n.account_id, n.kind, n.amount, n.currency, "
           f"n.counterparty_id, n.created_at FROM {S}.notifications n",
    position="n.id",
    of_account="n.account_id = :account",
    # A notification is the key's when the event it derives from is.
    in_scope=f"EXISTS (SELECT 1 FROM {S}.processed_events e "
             "WHERE e.event_id = n.event_id AND e.owner_scope = :scope)",
).page


DEAD_LETTER_COLUMNS = """id, group_id, topic, partition, "offset", kafka_timestamp, key, value,
    header_keys, header_values, reason, error_class, error_message, attempts, event_id,
    created_at, replayed_at"""


async def list_dead_letters(engine: AsyncEngine, limit: int, cursor: str | None) -> dict[str, Any]:
    return await _newest_first(engine, f"SELECT {DEAD_LETTER_COLUMNS} FROM {S}.dead_letters",
                               "id", [], {}, limit, cursor)


async def get_dead_letter(engine: AsyncEngine, letter_id: int) -> dict[str, Any] | None:
    async with reading(engine) as conn:
        row = (await conn.execute(text(
            f"SELECT {DEAD_LETTER_COLUMNS} FROM {S}.dead_letters WHERE id = :id"),
            {"id": letter_id})).first()
    return dict(row._mapping) if row is not None else None
