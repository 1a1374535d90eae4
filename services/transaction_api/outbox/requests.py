"""The payment-request store: one row is the idempotency record and the outbox entry.

asyncpg and SQLAlchemy errors become our own (service_kit.errors) here and nowhere else.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import NoReturn
from uuid import UUID

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from payment_events.codec import KafkaRecord
from payment_events.events import PaymentAccepted
from service_kit.db import StatementPool
from service_kit.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    TransientStoreError,
)
from service_kit.failures import is_transient
from transaction_api.outbox.group_commit import GroupCommitter
from transaction_api.ports import PaymentView, Published, StoredRequest

T = "transaction_api.payment_requests"

# Hot path: plain asyncpg statements, each its own implicit transaction (one round trip).
_INSERT = f"""
    INSERT INTO {T} (event_id, scope, idempotency_key, request_hash, payer_id, payee_id,
                     amount, currency, description, event_key, event_value, event_headers,
                     created_at, next_attempt_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)
    ON CONFLICT (scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event_id
"""
_BY_KEY = f"""
    SELECT event_id, request_hash, created_at, published_at IS NOT NULL AS published
    FROM {T} WHERE scope = $1 AND idempotency_key = $2
"""
_BY_ID = f"""
    SELECT event_id, scope, payer_id, payee_id, amount, currency, description, created_at,
           published_at, publish_attempts, published_partition, published_offset
    FROM {T} WHERE event_id = $1
"""


def _store_error(exc: Exception) -> Exception | None:
    """What a database error becomes (None: it goes on as it is). Errors worth a retry become
    TransientStoreError; a lock wait past the pool's lock_timeout on the idempotency index is
    a twin still in flight."""
    if isinstance(exc, asyncpg.exceptions.LockNotAvailableError):
        return IdempotencyKeyInFlight()
    if isinstance(exc, TransientStoreError | IdempotencyKeyReused):
        return None
    return TransientStoreError(repr(exc)) if is_transient(exc) else None


def _raise_store_error(exc: Exception) -> NoReturn:
    translated = _store_error(exc)
    if translated is None:
        raise exc
    raise translated from exc


@asynccontextmanager
async def store_errors() -> AsyncIterator[None]:
    """_store_error around a block."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - translated or re-raised as it is
        _raise_store_error(exc)


class PostgresRequestStore:
    """RequestStore (ports.py) on PostgreSQL."""

    def __init__(self, pool: StatementPool, relay_grace: timedelta,
                 committer: GroupCommitter | None = None) -> None:
        self._pool = pool
        self._committer = committer
        # The relay leaves a new row alone this long: the request path is publishing it.
        self._relay_grace = relay_grace

    async def record(self, *, scope: str, idempotency_key: str | None, request_hash: str,
                     event: PaymentAccepted, record: KafkaRecord) -> StoredRequest:
        """A concurrent twin blocks on the unique index until the first insert commits, then
        finds that row: every caller gets the first request's event id, one row exists."""
        headers = orjson.dumps([[k, v.decode()] for k, v in record.headers]).decode()
        values = (event.event_id, scope, idempotency_key, request_hash, event.payer_id,
                  event.payee_id, event.amount, event.currency, event.description, record.key,
                  record.value, headers, event.occurred_at,
                  event.occurred_at + self._relay_grace)
        # store_errors written out: no async context manager (a generator) per request.
        try:
            for _ in range(3):  # the twin's key may expire between the two statements: retry
                if await self._insert(values):
                    return StoredRequest(event.event_id, event.occurred_at, False, False)
                async with self._pool.acquire() as conn:
                    row = await conn.fetchrow(_BY_KEY, scope, idempotency_key)
                if row is not None:
                    break
            else:
                raise TransientStoreError("idempotency record vanished three times; retry")
        except Exception as exc:  # noqa: BLE001 - translated or re-raised as it is
            _raise_store_error(exc)
        if row["request_hash"] != request_hash:
            raise IdempotencyKeyReused()
        return StoredRequest(row["event_id"], row["created_at"], row["published"], True)

    async def _insert(self, values: tuple[object, ...]) -> bool:
        if self._committer is not None:
            return await self._committer.insert(values)
        async with self._pool.acquire() as conn:
            return await conn.fetchval(_INSERT, *values) is not None

    async def get(self, event_id: UUID) -> PaymentView | None:
        async with store_errors(), self._pool.acquire() as conn:
            row = await conn.fetchrow(_BY_ID, event_id)
        return PaymentView(**dict(row)) if row is not None else None


# The first acknowledgement wins: a copy the relay published again keeps the first placement.
_MARK_SQL = f"""
    UPDATE {T} SET published_at = now(), published_partition = m.part, published_offset = m.off
    FROM unnest(CAST(:ids AS uuid[]), CAST(:parts AS int[]), CAST(:offs AS bigint[]))
         AS m(id, part, off)
    WHERE event_id = m.id AND published_at IS NULL
"""
_MARK = text(_MARK_SQL)
# The same, for a plain asyncpg connection (outbox/marker.py): $1 ids, $2 partitions, $3 offsets.
MARK_MANY = (_MARK_SQL.replace(":ids", "$1").replace(":parts", "$2")
             .replace(":offs", "$3"))


async def mark_published(conn: AsyncConnection, marks: Sequence[Published]) -> None:
    await conn.execute(_MARK, {"ids": [m.event_id for m in marks],
                               "parts": [m.partition for m in marks],
                               "offs": [m.offset for m in marks]})

