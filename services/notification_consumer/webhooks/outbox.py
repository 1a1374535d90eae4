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
        d.traceparent, s.url, s.secret, s.previous_secret,
        s.previous_secret_expires_at > now() AS grace,
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
                  "counterparty_id": r.counterparty_id, "created_at": r.notification_created_at},
        r.traceparent)


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


@dataclass(frozen=True)
class Result:
    job: Claimed
    outcome: Outcome
    retry_in_s: float | None  # None after a failure: the retry window is used up

    @property
    def state(self) -> str:
        if self.outcome.ok:
            return "delivered"
        return "pending" if self.retry_in_s is not None else "failed"


# One statement per batch of finished attempts: each delivery's new state and its attempt
# log row. A delivery already finished elsewhere (or deleted) is left alone and not logged.
_RECORD = text(f"""
    WITH r AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]),
            CAST(:urls AS text[]), CAST(:addresses AS text[]), CAST(:codes AS int[]),
            CAST(:latencies AS float8[]), CAST(:excerpts AS text[]), CAST(:errors AS text[]),
            CAST(:states AS text[]), CAST(:retries AS float8[]))
            AS r(id, attempt, url, address, code, latency, excerpt, error, state, retry)
    ), done AS (
        UPDATE {S}.webhook_deliveries d SET state = r.state, last_status = r.code,
            last_error = r.error,
            delivered_at = CASE WHEN r.state = 'delivered' THEN clock_timestamp() END,
            next_attempt_at = CASE WHEN r.state = 'pending'
                THEN now() + make_interval(secs => r.retry) ELSE d.next_attempt_at END
        FROM r WHERE d.id = r.id AND d.state = 'pending'
        RETURNING d.id, d.state, d.delivered_at, d.created_at
    ), logged AS (
        INSERT INTO {S}.webhook_attempts (delivery_id, attempt, url, address, status_code,
            latency_ms, response_excerpt, error)
        SELECT r.id, r.attempt, r.url, r.address, r.code, r.latency, r.excerpt, r.error
        FROM r JOIN done ON done.id = r.id
    )
    SELECT id, state, delivered_at, created_at FROM done
""")
# Failures in a row per subscription: `reset` = a 2xx came in this batch, after which `add`
# more failures followed. At `limit` the subscription is disabled.
_COUNT_FAILURES = text(f"""
    WITH u AS (
        SELECT u.id, CASE WHEN u.reset THEN u.add ELSE s.consecutive_failures + u.add END AS n,
            u.why
        FROM unnest(CAST(:subs AS uuid[]), CAST(:resets AS bool[]), CAST(:adds AS int[]),
            CAST(:whys AS text[])) AS u(id, reset, add, why)
        JOIN {S}.webhook_subscriptions s ON s.id = u.id
    )
    UPDATE {S}.webhook_subscriptions s SET consecutive_failures = u.n,
        status = CASE WHEN u.n >= :limit THEN 'disabled' ELSE s.status END,
        disabled_at = CASE WHEN u.n >= :limit AND s.status = 'active' THEN now()
            ELSE s.disabled_at END,
        disabled_reason = CASE WHEN u.n >= :limit AND s.status = 'active'
            THEN u.n || ' failed attempts in a row; last: ' || u.why ELSE s.disabled_reason END
    FROM u WHERE s.id = u.id
""")


async def record(engine: AsyncEngine, results: list[Result],
                 disable_after: int) -> dict[int, dict[str, Any]]:
    """Write a batch of finished attempts in one transaction; returns, per delivery that was
    still pending, its new state (with delivered_at and created_at)."""
    counts: dict[UUID, tuple[bool, int, str]] = {}
    for res in results:
        reset, add, why = counts.get(res.job.subscription_id, (False, 0, ""))
        if res.outcome.ok:
            counts[res.job.subscription_id] = (True, 0, why)
        else:
            error = res.outcome.error or f"HTTP {res.outcome.status_code}"
            counts[res.job.subscription_id] = (reset, add + 1, error[:300])
    o = [r.outcome for r in results]
    async with engine.begin() as conn:
        # Subscriptions before deliveries, in id order: the order DELETE (which cascades to
        # the deliveries) and other replicas take them in, so no two transactions deadlock.
        await conn.execute(text(f"""
            SELECT 1 FROM {S}.webhook_subscriptions WHERE id = ANY(CAST(:subs AS uuid[]))
            ORDER BY id FOR NO KEY UPDATE"""), {"subs": list(counts)})
        await conn.execute(_COUNT_FAILURES, {
            "subs": list(counts), "resets": [c[0] for c in counts.values()],
            "adds": [c[1] for c in counts.values()], "whys": [c[2] for c in counts.values()],
            "limit": disable_after})
        rows = (await conn.execute(_RECORD, {
            "ids": [r.job.delivery_id for r in results],
            "attempts": [r.job.attempt for r in results], "urls": [r.job.url for r in results],
            "addresses": [x.address for x in o], "codes": [x.status_code for x in o],
            "latencies": [x.latency_ms for x in o], "excerpts": [x.excerpt for x in o],
            "errors": [x.error for x in o], "states": [r.state for r in results],
            "retries": [r.retry_in_s or 0.0 for r in results]})).all()
    return {row.id: dict(row._mapping) for row in rows}


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
