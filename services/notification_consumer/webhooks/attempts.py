"""Recording finished attempts: each delivery's new state, its attempt log row and the
subscription's failure count, in one statement per batch; whatever bytes a receiver sent."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.store.batch_sql import S
from notification_consumer.webhooks.outbox import Claimed


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
# log row. A delivery already finished elsewhere (or deleted), or a failure older than the
# delivery's latest claim, is left alone and not logged.
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
            -- A late result (its lease ran out and a newer attempt was claimed) never
            -- overwrites the newer one's state; a 2xx still counts, whenever it comes.
            AND (r.state = 'delivered' OR d.attempts = r.attempt)
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


def storable(value: str | None) -> str | None:
    """Text PostgreSQL accepts whatever a receiver sent: NUL (which `text` cannot hold) and
    anything that is not UTF-8 (lone surrogates) become U+FFFD."""
    if value is None:
        return None
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


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
            counts[res.job.subscription_id] = (reset, add + 1, storable(error[:300]) or "")
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
            "latencies": [x.latency_ms for x in o], "excerpts": [storable(x.excerpt) for x in o],
            "errors": [storable(x.error) for x in o], "states": [r.state for r in results],
            "retries": [r.retry_in_s or 0.0 for r in results]})).all()
    return {row.id: dict(row._mapping) for row in rows}
