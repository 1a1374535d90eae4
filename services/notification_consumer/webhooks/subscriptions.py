"""The subscription store: create, read, delete, rotate the secret, re-enable, redeliver.

Every query is filtered by the owner's scope (the API key's; NULL when auth is off), so a key
never sees, changes or learns of another key's subscriptions: they answer 404 alike.
"""

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.store import reads
from notification_consumer.store.batch_sql import S
from notification_consumer.webhooks.ordering import HELD_BY

OWNED = "owner_scope IS NOT DISTINCT FROM :owner"
COLUMNS = """id, owner_scope, account_id, url, description, ordering, status,
    consecutive_failures, disabled_at, disabled_reason, created_at, previous_secret_expires_at"""
MAX_LISTED = 500


def _one(row: Any) -> dict[str, Any] | None:
    return dict(row._mapping) if row is not None else None


async def create(engine: AsyncEngine, owner: str | None, url: str, account_id: str | None,
                 description: str | None, secret: str, quota: int,
                 ordering: str | None = None) -> dict[str, Any] | None:
    """The new subscription; None when the owner already holds `quota` of them. The owner's
    advisory lock makes count-then-insert one step for concurrent requests of one key."""
    async with reads.reading_errors(), engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:lock))"),
                           {"lock": f"webhook-quota:{owner or ''}"})
        row = (await conn.execute(text(f"""
            INSERT INTO {S}.webhook_subscriptions (owner_scope, account_id, url, description,
                secret, ordering)
            SELECT :owner, :account, :url, :description, :secret, :ordering
            WHERE (SELECT count(*) FROM {S}.webhook_subscriptions WHERE {OWNED}) < :quota
            RETURNING {COLUMNS}"""), {"owner": owner, "account": account_id, "url": url,
                                      "description": description, "secret": secret,
                                      "quota": quota, "ordering": ordering})).first()
    return _one(row)


async def list_owned(engine: AsyncEngine, owner: str | None) -> list[dict[str, Any]]:
    async with reads.reading(engine) as conn:
        rows = (await conn.execute(text(f"""
            SELECT {COLUMNS} FROM {S}.webhook_subscriptions WHERE {OWNED}
            ORDER BY created_at, id LIMIT {MAX_LISTED}"""), {"owner": owner})).all()
    return [dict(r._mapping) for r in rows]


async def get(engine: AsyncEngine, owner: str | None, sub_id: UUID) -> dict[str, Any] | None:
    async with reads.reading(engine) as conn:
        row = (await conn.execute(text(f"""
            SELECT {COLUMNS} FROM {S}.webhook_subscriptions WHERE id = :id AND {OWNED}"""),
            {"id": sub_id, "owner": owner})).first()
    return _one(row)


async def delete(engine: AsyncEngine, owner: str | None, sub_id: UUID) -> bool:
    """The subscription, then its deliveries (no foreign key ties them: see migration 0008).
    A batch in flight may still queue a few for it; they are never claimed (the claim joins
    the subscription) and history.prune removes them."""
    async with reads.reading_errors(), engine.begin() as conn:
        row = (await conn.execute(text(f"""
            DELETE FROM {S}.webhook_subscriptions WHERE id = :id AND {OWNED} RETURNING id"""),
            {"id": sub_id, "owner": owner})).first()
        if row is not None:
            await conn.execute(text(f"""
                DELETE FROM {S}.webhook_deliveries WHERE subscription_id = :id"""),
                {"id": sub_id})
    return row is not None


async def rotate_secret(engine: AsyncEngine, owner: str | None, sub_id: UUID, secret: str,
                        grace_s: float) -> dict[str, Any] | None:
    """The current secret becomes the previous one, valid `grace_s` more seconds."""
    async with reads.reading_errors(), engine.begin() as conn:
        row = (await conn.execute(text(f"""
            UPDATE {S}.webhook_subscriptions SET previous_secret = secret, secret = :secret,
                previous_secret_expires_at = now() + make_interval(secs => :grace)
            WHERE id = :id AND {OWNED} RETURNING {COLUMNS}"""),
            {"id": sub_id, "owner": owner, "secret": secret, "grace": grace_s})).first()
    return _one(row)


async def enable(engine: AsyncEngine, owner: str | None, sub_id: UUID) -> dict[str, Any] | None:
    async with reads.reading_errors(), engine.begin() as conn:
        row = (await conn.execute(text(f"""
            UPDATE {S}.webhook_subscriptions SET status = 'active', consecutive_failures = 0,
                disabled_at = NULL, disabled_reason = NULL
            WHERE id = :id AND {OWNED} RETURNING {COLUMNS}"""),
            {"id": sub_id, "owner": owner})).first()
    return _one(row)


DELIVERY_COLUMNS = """d.id, d.subscription_id, d.notification_id, d.message_id, d.state,
    d.attempts, d.next_attempt_at, d.created_at, d.delivered_at, d.last_status, d.last_error"""


async def redeliver(engine: AsyncEngine, owner: str | None, sub_id: UUID, delivery_id: int,
                    window_s: float) -> dict[str, Any] | None:
    """Due now, with a fresh retry window; the webhook-id stays (receivers dedup on it)."""
    async with reads.reading_errors(), engine.begin() as conn:
        row = (await conn.execute(text(f"""
            UPDATE {S}.webhook_deliveries d SET state = 'pending', next_attempt_at = now(),
                expires_at = now() + make_interval(secs => :window)
            FROM {S}.webhook_subscriptions s
            WHERE d.id = :delivery AND d.subscription_id = :sub AND s.id = d.subscription_id
                AND s.{OWNED}
            RETURNING {DELIVERY_COLUMNS}"""), {"delivery": delivery_id, "sub": sub_id,
                                               "owner": owner, "window": window_s})).first()
        if row is not None:
            await conn.execute(text("SELECT pg_notify('webhook_deliveries', '')"))
    return _one(row)


async def deliveries(engine: AsyncEngine, owner: str | None, sub_id: UUID, limit: int,
                     before: int | None) -> list[dict[str, Any]]:
    """Newest first; each with its attempts (oldest first), and for a pending delivery of a
    subscription ordered by account, the older delivery it waits behind."""
    async with reads.reading(engine) as conn:
        rows = [dict(r._mapping) for r in (await conn.execute(text(f"""
            SELECT {DELIVERY_COLUMNS}, {HELD_BY} FROM {S}.webhook_deliveries d
            JOIN {S}.webhook_subscriptions s ON s.id = d.subscription_id AND s.{OWNED}
            WHERE d.subscription_id = :sub
                AND (CAST(:before AS bigint) IS NULL OR d.id < :before)
            ORDER BY d.id DESC LIMIT :limit"""), {"sub": sub_id, "owner": owner,
                                                  "before": before, "limit": limit})).all()]
        attempts = (await conn.execute(text(f"""
            SELECT delivery_id, attempt, address, status_code, latency_ms, response_excerpt,
                error, attempted_at FROM {S}.webhook_attempts
            WHERE delivery_id = ANY(:ids) ORDER BY id"""),
            {"ids": [r["id"] for r in rows]})).all()
    by_delivery: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
    for attempt in attempts:
        by_delivery[attempt.delivery_id].append(dict(attempt._mapping))
    return [{**r, "attempt_log": by_delivery[r["id"]]} for r in rows]


async def disabled_subscriptions(engine: AsyncEngine) -> list[dict[str, Any]]:
    """For the operator console: every disabled subscription (any owner), newest first."""
    async with reads.reading(engine) as conn:
        rows = (await conn.execute(text(f"""
            SELECT {COLUMNS} FROM {S}.webhook_subscriptions WHERE status = 'disabled'
            ORDER BY disabled_at DESC NULLS LAST LIMIT {MAX_LISTED}"""))).all()
    return [dict(r._mapping) for r in rows]
