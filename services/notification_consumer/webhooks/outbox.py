"""The delivery outbox as the worker sees it: claim due deliveries fairly, record outcomes.

A claim moves `next_attempt_at` forward by the lease and counts the attempt, in a short
transaction that locks candidates with SKIP LOCKED; so replicas never claim the same row at
once, and a worker that dies mid-send leaves rows that fall due again when the lease ends.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.store import S

# Subscriptions are taken in random order and each gives at most `per_sub` rows, so a
# subscription with a huge backlog cannot crowd out the others.
_CANDIDATES = text(f"""
    SELECT d.id, d.subscription_id FROM (
        SELECT id FROM {S}.webhook_subscriptions
        WHERE status = 'active' AND NOT (id = ANY(CAST(:full AS uuid[])))
        ORDER BY random() LIMIT :max_subs
    ) s CROSS JOIN LATERAL (
        SELECT id, subscription_id FROM {S}.webhook_deliveries
        WHERE subscription_id = s.id AND state = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id LIMIT :per_sub
        FOR UPDATE SKIP LOCKED
    ) d
""")
_LEASE = text(f"""
    UPDATE {S}.webhook_deliveries d
    SET next_attempt_at = now() + make_interval(secs => :lease), attempts = d.attempts + 1
    FROM {S}.webhook_subscriptions s, {S}.notifications n
    WHERE d.id = ANY(:ids) AND s.id = d.subscription_id AND n.id = d.notification_id
    RETURNING d.id, d.message_id, d.attempts, d.created_at, d.expires_at, d.subscription_id,
        s.url, s.secret, s.previous_secret, s.previous_secret_expires_at > now() AS grace,
        n.id AS notification_id, n.event_id, n.account_id, n.kind, n.amount, n.currency,
        n.counterparty_id, n.created_at AS notification_created_at
""")


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    message_id: UUID
    attempt: int
    created_at: datetime
    expires_at: datetime | None
    subscription_id: UUID
    url: str
    secrets: list[str]
    notification: dict[str, Any]


async def claim(engine: AsyncEngine, capacity: dict[UUID, int], full: list[UUID],
                per_sub: int, total: int, lease_s: float) -> list[Claimed]:
    """Up to `total` due deliveries, never more per subscription than its free capacity."""
    async with engine.begin() as conn:
        candidates = (await conn.execute(_CANDIDATES, {
            "full": full, "max_subs": max(total, 1), "per_sub": per_sub})).all()
        chosen: list[int] = []
        taken: dict[UUID, int] = {}
        for row in candidates:
            free = capacity.get(row.subscription_id, per_sub) - taken.get(row.subscription_id, 0)
            if free > 0 and len(chosen) < total:
                chosen.append(row.id)
                taken[row.subscription_id] = taken.get(row.subscription_id, 0) + 1
        if not chosen:
            return []
        rows = (await conn.execute(_LEASE, {"ids": chosen, "lease": lease_s})).all()
    return [_claimed(r) for r in rows]


def _claimed(r: Any) -> Claimed:
    secrets = [r.secret] + ([r.previous_secret] if r.grace and r.previous_secret else [])
    amount: Decimal = r.amount
    return Claimed(
        r.id, r.message_id, r.attempts, r.created_at, r.expires_at, r.subscription_id, r.url,
        secrets, {"id": r.notification_id, "event_id": r.event_id, "account_id": r.account_id,
                  "kind": r.kind, "amount": amount, "currency": r.currency,
                  "counterparty_id": r.counterparty_id, "created_at": r.notification_created_at})


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: float
    address: str | None
    excerpt: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def record(engine: AsyncEngine, job: Claimed, outcome: Outcome,
                 retry_in_s: float | None, disable_after: int) -> dict[str, Any] | None:
    """Log the attempt; mark the delivery delivered, due again in `retry_in_s`, or failed
    (None); count the subscription's failures and disable it at `disable_after` in a row.

    Returns the delivery's new state (None when it or its subscription was deleted)."""
    state = "delivered" if outcome.ok else ("pending" if retry_in_s is not None else "failed")
    async with engine.begin() as conn:
        row = (await conn.execute(text(f"""
            UPDATE {S}.webhook_deliveries SET state = :state, last_status = :status,
                last_error = :error,
                delivered_at = CASE WHEN :state = 'delivered' THEN clock_timestamp() END,
                next_attempt_at = CASE WHEN :state = 'pending'
                    THEN now() + make_interval(secs => :retry) ELSE next_attempt_at END
            WHERE id = :id AND state = 'pending'
            RETURNING state, delivered_at, created_at"""), {
                "id": job.delivery_id, "state": state, "status": outcome.status_code,
                "error": outcome.error, "retry": retry_in_s or 0.0})).first()
        if row is None:
            return None
        await conn.execute(text(f"""
            INSERT INTO {S}.webhook_attempts (delivery_id, attempt, url, address, status_code,
                latency_ms, response_excerpt, error)
            VALUES (:id, :attempt, :url, :address, :status, :latency, :excerpt, :error)"""), {
                "id": job.delivery_id, "attempt": job.attempt, "url": job.url,
                "address": outcome.address, "status": outcome.status_code,
                "latency": outcome.latency_ms, "excerpt": outcome.excerpt,
                "error": outcome.error})
        await conn.execute(text(f"""
            UPDATE {S}.webhook_subscriptions SET
                consecutive_failures = CASE WHEN :ok THEN 0 ELSE consecutive_failures + 1 END,
                status = CASE WHEN NOT :ok AND consecutive_failures + 1 >= :limit
                    THEN 'disabled' ELSE status END,
                disabled_at = CASE WHEN NOT :ok AND consecutive_failures + 1 >= :limit
                    AND status = 'active' THEN now() ELSE disabled_at END,
                disabled_reason = CASE WHEN NOT :ok AND consecutive_failures + 1 >= :limit
                    AND status = 'active' THEN :reason ELSE disabled_reason END
            WHERE id = :sub"""), {
                "ok": outcome.ok, "limit": disable_after, "sub": job.subscription_id,
                "reason": f"{disable_after} failed attempts in a row; last: "
                          f"{outcome.error or f'HTTP {outcome.status_code}'}"[:500]})
    return dict(row._mapping)


async def backlog(engine: AsyncEngine) -> dict[str, tuple[str, float]]:
    """Per subscription: the oldest pending delivery's age (0 when none), and the status."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(f"""
            SELECT s.id, s.status,
                COALESCE(EXTRACT(EPOCH FROM now() - oldest.created_at), 0) AS oldest_s
            FROM {S}.webhook_subscriptions s
            LEFT JOIN LATERAL (
                SELECT created_at FROM {S}.webhook_deliveries
                WHERE subscription_id = s.id AND state = 'pending' ORDER BY id LIMIT 1
            ) oldest ON true"""))).all()
    return {str(r.id): (r.status, float(r.oldest_s)) for r in rows}
