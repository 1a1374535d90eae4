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

from notification_consumer.store.batch_sql import S
from notification_consumer.webhooks import ordering

# Only subscriptions with pending work are candidates (a skip scan over the pending index
# finds them, however many idle subscriptions exist); they are taken in random order and each
# gives at most `per_sub` rows, so a subscription with a huge backlog cannot crowd out others.
_CANDIDATES = text(f"""
    WITH RECURSIVE busy(id) AS (
        (SELECT subscription_id FROM {S}.webhook_deliveries WHERE state = 'pending'
         ORDER BY subscription_id LIMIT 1)
        UNION ALL
        SELECT (SELECT subscription_id FROM {S}.webhook_deliveries
                WHERE state = 'pending' AND subscription_id > busy.id
                ORDER BY subscription_id LIMIT 1)
        FROM busy WHERE busy.id IS NOT NULL
    )
    SELECT d.id, d.subscription_id, s.owner_scope FROM (
        SELECT s.id, s.owner_scope, s.ordering
        FROM busy JOIN {S}.webhook_subscriptions s ON s.id = busy.id
        WHERE s.status = 'active' AND NOT (s.id = ANY(CAST(:full AS uuid[])))
            AND NOT (COALESCE(s.owner_scope, '') = ANY(CAST(:full_owners AS text[])))
            AND EXISTS (SELECT 1 FROM {S}.webhook_deliveries due
                        WHERE due.subscription_id = s.id AND due.state = 'pending'
                            AND due.next_attempt_at <= now())
        ORDER BY random() LIMIT :max_subs
    ) s CROSS JOIN LATERAL (
        SELECT * FROM (
            SELECT id, subscription_id FROM {S}.webhook_deliveries
            WHERE s.ordering IS NULL AND subscription_id = s.id AND state = 'pending'
                AND next_attempt_at <= now()
            ORDER BY next_attempt_at, id LIMIT :per_sub
            FOR UPDATE SKIP LOCKED) unordered
        UNION ALL
        -- Ordered by account: only each account's oldest pending delivery (see ordering.py).
        SELECT * FROM (
            SELECT id, subscription_id FROM {S}.webhook_deliveries
            WHERE s.ordering = 'account' AND id = ANY({ordering.DUE_HEADS})
                AND state = 'pending' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, id LIMIT :per_sub
            FOR UPDATE SKIP LOCKED) heads
    ) d
""")
_LEASE = text(f"""
    UPDATE {S}.webhook_deliveries d
    SET next_attempt_at = now() + make_interval(secs => :lease), attempts = d.attempts + 1
    FROM {S}.webhook_subscriptions s, {S}.notifications n
    WHERE d.id = ANY(:ids) AND s.id = d.subscription_id AND n.id = d.notification_id
    RETURNING d.id, d.message_id, d.attempts, d.created_at, d.expires_at, d.subscription_id,
        d.traceparent, s.url, s.secret, s.previous_secret,
        s.previous_secret_expires_at > now() AS grace, COALESCE(s.owner_scope, '') AS owner,
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
    traceparent: str | None = None  # the payment's trace, from the event that queued it
    owner: str = ""  # the subscription's key scope ("" in open mode)


@dataclass(frozen=True)
class Capacity:
    """What the worker can still take: per subscription and per owner (API key scope, ""
    in open mode), each with the default for one not yet in flight."""

    per_sub: int
    per_owner: int
    subs: dict[UUID, int]
    owners: dict[str, int]

    def full(self) -> tuple[list[UUID], list[str]]:
        return ([k for k, n in self.subs.items() if n <= 0],
                [k for k, n in self.owners.items() if n <= 0])


async def claim(engine: AsyncEngine, capacity: Capacity, total: int,
                lease_s: float) -> list[Claimed]:
    """Up to `total` due deliveries, never more per subscription or per owner than its free
    capacity."""
    full_subs, full_owners = capacity.full()
    async with engine.begin() as conn:
        candidates = (await conn.execute(_CANDIDATES, {
            "full": full_subs, "full_owners": full_owners, "max_subs": max(total, 1),
            "per_sub": capacity.per_sub})).all()
        chosen: list[int] = []
        subs: dict[UUID, int] = {}
        owners: dict[str, int] = {}
        for row in candidates:
            owner = row.owner_scope or ""
            free_sub = capacity.subs.get(row.subscription_id, capacity.per_sub) - subs.get(
                row.subscription_id, 0)
            free_owner = capacity.owners.get(owner, capacity.per_owner) - owners.get(owner, 0)
            if free_sub > 0 and free_owner > 0 and len(chosen) < total:
                chosen.append(row.id)
                subs[row.subscription_id] = subs.get(row.subscription_id, 0) + 1
                owners[owner] = owners.get(owner, 0) + 1
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
                  "counterparty_id": r.counterparty_id, "created_at": r.notification_created_at},
        r.traceparent, r.owner)


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
