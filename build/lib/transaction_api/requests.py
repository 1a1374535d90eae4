"""The payment-request store: one row is the idempotency record and the outbox entry."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from payment_events.codec import KafkaRecord
from payment_events.events import PaymentAccepted
from service_kit.db import StatementPool
from service_kit.errors import TransientStoreError

T = "transaction_api.payment_requests"


@dataclass(frozen=True, slots=True)
class StoredRequest:
    event_id: UUID
    request_hash: str
    created_at: datetime
    published: bool
    replayed: bool  # True when an earlier request with the same key is answered again


class IdempotencyKeyReused(Exception):
    """The key was used before with a different request body."""


def request_hash(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


# Hot path: plain asyncpg statements, each its own implicit transaction (one round trip).
_INSERT = f"""
    INSERT INTO {T} (event_id, scope, idempotency_key, request_hash, payer_id, payee_id,
                     amount, currency, description, event_key, event_value, event_headers,
                     created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13)
    ON CONFLICT (scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event_id
"""
_BY_KEY = f"""
    SELECT event_id, request_hash, created_at, published_at IS NOT NULL AS published
    FROM {T} WHERE scope = $1 AND idempotency_key = $2
"""


async def record_payment_request(
    pool: StatementPool,
    *,
    scope: str,
    idempotency_key: str | None,
    hash_: str,
    event: PaymentAccepted,
    record: KafkaRecord,
) -> StoredRequest:
    """Insert the request durably, or return the earlier one recorded under the same key.

    A concurrent twin blocks on the unique index until the first insert commits, then finds
    that row: every caller gets the first request's event id, and only one row exists.
    """
    headers = orjson.dumps([[k, v.decode()] for k, v in record.headers]).decode()
    async with pool.acquire() as conn:
        for _ in range(3):  # the twin's key may expire between the two statements: retry
            inserted = await conn.fetchval(
                _INSERT, event.event_id, scope, idempotency_key, hash_, event.payer_id,
                event.payee_id, event.amount, event.currency, event.description, record.key,
                record.value, headers, event.occurred_at)
            if inserted is not None:
                return StoredRequest(event.event_id, hash_, event.occurred_at, False, False)
            row = await conn.fetchrow(_BY_KEY, scope, idempotency_key)
            if row is not None:
                break
        else:
            raise TransientStoreError("idempotency record vanished three times; retry")
    if row["request_hash"] != hash_:
        raise IdempotencyKeyReused(idempotency_key)
    return StoredRequest(row["event_id"], row["request_hash"], row["created_at"],
                         row["published"], True)


async def mark_published(conn: AsyncConnection, event_ids: list[UUID]) -> None:
    await conn.execute(
        text(f"UPDATE {T} SET published_at = now() WHERE event_id = ANY(:ids) "
             "AND published_at IS NULL"),
        {"ids": event_ids},
    )


async def get_payment(engine: AsyncEngine, event_id: UUID) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text(f"""
            SELECT event_id, payer_id, payee_id, amount, currency, description, created_at,
                   published_at, publish_attempts FROM {T} WHERE event_id = :id
        """), {"id": event_id})).first()
    return dict(row._mapping) if row is not None else None


async def expire_idempotency_keys(engine: AsyncEngine, retention: timedelta) -> int:
    """Forget keys older than the retention; the payment and its outbox state stay.

    Safe on any replica at any time: one UPDATE, idempotent, bounded per call.
    """
    async with engine.begin() as conn:
        result = await conn.execute(text(f"""
            UPDATE {T} SET idempotency_key = NULL
            WHERE event_id IN (SELECT event_id FROM {T}
                               WHERE idempotency_key IS NOT NULL AND created_at < :cutoff
                               LIMIT 10000)
        """), {"cutoff": datetime.now(UTC) - retention})
    return int(getattr(result, "rowcount", 0) or 0)

